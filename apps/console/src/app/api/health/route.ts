import { NextResponse } from "next/server";

/** Liveness of the console process (used by the Docker healthcheck). */
export function GET(): NextResponse {
  return NextResponse.json({ status: "ok" });
}
