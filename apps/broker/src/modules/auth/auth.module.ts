import { Global, Inject, Module, type OnModuleInit } from "@nestjs/common";
import { APP_GUARD } from "@nestjs/core";
import { PlatformKeys } from "../../common/platform-keys.ts";
import { AuthController } from "./auth.controller.ts";
import { AuthGuard } from "./auth.guard.ts";
import { AuthService, LOCAL_SESSIONS } from "./auth.service.ts";
import { LocalSessions } from "./local-session.ts";
import { UsersRepository } from "./users.repository.ts";

@Global()
@Module({
  controllers: [AuthController],
  providers: [
    UsersRepository,
    AuthService,
    { provide: LOCAL_SESSIONS, useFactory: (keys: PlatformKeys) => new LocalSessions(keys.derive("local-session")), inject: [PlatformKeys] },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AuthService],
})
export class AuthModule implements OnModuleInit {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  onModuleInit(): Promise<void> {
    return this.auth.ensureLocalAdmin();
  }
}
