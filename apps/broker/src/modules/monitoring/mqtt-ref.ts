import type { ModuleRef } from "@nestjs/core";
import { MqttService } from "../../mqtt/mqtt.service.ts";

/**
 * MqttService is provided by the root AppModule, which feature modules cannot
 * import; the monitoring module looks it up in the application's container
 * instead. Every provider exists before any onModuleInit runs, so this works
 * from onModuleInit on (the MQTT listeners open later, in the root module's).
 */
export function mqttOf(moduleRef: ModuleRef): MqttService {
  return moduleRef.get(MqttService, { strict: false });
}
