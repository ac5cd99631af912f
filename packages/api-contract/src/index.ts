export * from "./common.ts";
export * from "./topic-filter.ts";
export * as schemas from "./resources.ts";
