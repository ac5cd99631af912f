import { Controller, Get, Header, Inject } from "@nestjs/common";
import { Public } from "../modules/auth/auth.guard.ts";
import { MetricsService } from "./metrics.service.ts";

/**
 * Prometheus scrape endpoint. Public like /health: it carries counts and tenant
 * slugs, no secrets; put it behind the network policy that protects scrapes.
 */
@Public()
@Controller()
export class MetricsController {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  @Get("metrics")
  @Header("content-type", "text/plain; version=0.0.4; charset=utf-8")
  scrape(): Promise<string> {
    return this.metrics.metrics();
  }
}
