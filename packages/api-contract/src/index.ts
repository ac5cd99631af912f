export * from "./common.ts";
export * from "./topic-filter.ts";
export * as schemas from "./resources.ts";
export * as monitoring from "./monitoring.ts";
export * as admin from "./admin.ts";
