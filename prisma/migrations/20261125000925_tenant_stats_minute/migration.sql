-- CreateTable
CREATE TABLE "tenant_stats_minute" (
    "tenantId" UUID NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "connections" INTEGER NOT NULL,
    "messagesIn" BIGINT NOT NULL,
    "messagesOut" BIGINT NOT NULL,
    "bytesIn" BIGINT NOT NULL,
    "bytesOut" BIGINT NOT NULL,
    "drops" BIGINT NOT NULL,
    "denials" BIGINT NOT NULL,

    CONSTRAINT "tenant_stats_minute_pkey" PRIMARY KEY ("tenantId","minute")
);

-- CreateTable
CREATE TABLE "connection_event" (
    "id" BIGSERIAL NOT NULL,
    "tenantId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "type" VARCHAR(16) NOT NULL,
    "clientId" VARCHAR(256) NOT NULL,
    "username" VARCHAR(256),
    "address" VARCHAR(64),
    "reason" VARCHAR(256),

    CONSTRAINT "connection_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "tenant_stats_minute_minute_idx" ON "tenant_stats_minute"("minute");

-- CreateIndex
CREATE INDEX "connection_event_tenantId_id_idx" ON "connection_event"("tenantId", "id");

-- CreateIndex
CREATE INDEX "connection_event_tenantId_clientId_id_idx" ON "connection_event"("tenantId", "clientId", "id");

-- CreateIndex
CREATE INDEX "connection_event_at_idx" ON "connection_event"("at");

-- AddForeignKey
ALTER TABLE "tenant_stats_minute" ADD CONSTRAINT "tenant_stats_minute_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connection_event" ADD CONSTRAINT "connection_event_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
