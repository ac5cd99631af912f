import { problems } from "../../common/problem.ts";
import type { Db } from "../database/database.service.ts";
import type { DevicesRepository } from "./devices.repository.ts";

/** The device, looked up within the tenant; one of another tenant is simply not found (404). */
export async function requireDevice(devices: DevicesRepository, db: Db, tenantId: string, deviceId: string) {
  const device = await devices.find(db, tenantId, deviceId);
  if (!device) throw problems.notFound("Device");
  return device;
}
