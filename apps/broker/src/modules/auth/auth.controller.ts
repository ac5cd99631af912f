import { Body, Controller, Get, Inject, Post } from "@nestjs/common";
import { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, Public } from "./auth.guard.ts";
import { AuthService } from "./auth.service.ts";
import { LOCAL_SESSION_SECONDS } from "./local-session.ts";
import type { Principal } from "./principal.ts";

@Controller("api/v1")
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  /** Local administrator sign-in (the embedded default without Keycloak). */
  @Doc({ summary: "Sign in with the local administrator account", tag: "Session", body: schemas.localLogin, response: schemas.tokenResponse, access: "public" })
  @Public()
  @Post("auth/token")
  async token(@Body(new ZodPipe(schemas.localLogin)) body: z.infer<typeof schemas.localLogin>): Promise<z.infer<typeof schemas.tokenResponse>> {
    return { accessToken: await this.auth.login(body.username, body.password), tokenType: "Bearer", expiresIn: LOCAL_SESSION_SECONDS };
  }

  @Doc({ summary: "Who am I: roles per tenant", tag: "Session", response: schemas.me, access: "authenticated" })
  @Get("me")
  me(@CurrentPrincipal() p: Principal): z.infer<typeof schemas.me> {
    return {
      kind: p.kind,
      subject: p.subject,
      displayName: p.displayName,
      platformAdmin: p.platformAdmin,
      tenants: [...p.tenantRoles].map(([slug, role]) => ({ slug, role })),
    };
  }
}
