/** The parser ships no types; it returns metric families as plain objects. */
declare module "parse-prometheus-text-format" {
  export default function parse(text: string): unknown[];
}
