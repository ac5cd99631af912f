/** What Next passes to a page under /t/[tenant] (in Next 16 both are Promises). */
export interface TenantPageProps {
  params: Promise<{ tenant: string }>;
  searchParams: Promise<Record<string, string | undefined>>;
}
