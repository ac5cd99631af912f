import { redirect } from "next/navigation";
import { Empty, PageHeader } from "@/components/ui.tsx";
import { me } from "@/lib/api.ts";

/** Home: admins land on the platform overview, tenant users on their first tenant. */
export default async function Home() {
  const m = await me();
  if (m.platformAdmin) redirect("/overview");
  const first = m.tenants[0];
  if (first) redirect(`/t/${first.slug}`);
  return (
    <>
      <PageHeader title="Welcome" />
      <Empty title="No tenant yet">Ask a platform administrator or a tenant administrator to add you to a tenant.</Empty>
    </>
  );
}
