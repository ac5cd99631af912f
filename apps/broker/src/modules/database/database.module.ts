import { Global, Inject, Module, type OnModuleInit } from "@nestjs/common";
import { DatabaseService } from "./database.service.ts";

@Global()
@Module({ providers: [DatabaseService], exports: [DatabaseService] })
export class DatabaseModule implements OnModuleInit {
  constructor(@Inject(DatabaseService) private readonly database: DatabaseService) {}

  /** Migrations run before any other module starts. */
  onModuleInit(): Promise<void> {
    return this.database.start();
  }
}
