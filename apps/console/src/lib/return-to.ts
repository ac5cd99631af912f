/** Only same-origin paths: an open redirect after sign-in would hand a phishing page a trusted link. */
export function safeReturnTo(value: string | null | undefined): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  return value;
}
