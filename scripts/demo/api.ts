/**
 * A small client of the broker's admin API for the demo: plain fetch with a
 * bearer token, RFC 9457 problems turned into errors that say what failed.
 * The demo goes through the same API as any automation would; it never
 * touches the database.
 */

export interface Problem {
  status: number;
  title: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly problem: Problem,
  ) {
    const fields = problem.errors?.map((e) => `${e.path}: ${e.message}`).join("; ");
    super(`${method} ${path} failed with ${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}${fields ? ` (${fields})` : ""}`);
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export class AdminApi {
  private constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Signs in as the local administrator. */
  static async connect(baseUrl: string, auth: { username: string; password: string | undefined }): Promise<AdminApi> {
    if (!auth.password) {
      throw new Error(
        "No admin credentials: set HALYARD_ADMIN_PASSWORD to the local administrator's password (the broker prints it once, " +
          "at its first start, under 'Halyard local administrator'; or the HALYARD_ADMIN_PASSWORD it was first started with).",
      );
    }
    const res = await request(baseUrl, "POST", "/api/v1/auth/token", undefined, { username: auth.username, password: auth.password });
    const body = (await res.json()) as { accessToken: string };
    return new AdminApi(baseUrl, body.accessToken);
  }

  async call<T>(method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T> {
    const res = await request(this.baseUrl, method, path, this.token, body);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  /** GET, or undefined on 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Every item of a paged list. */
  async all<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    const sep = path.includes("?") ? "&" : "?";
    for (let page = 1; ; page++) {
      const p = await this.get<Page<T>>(`${path}${sep}page=${page}&pageSize=200`);
      out.push(...p.items);
      if (out.length >= p.total || p.items.length === 0) return out;
    }
  }
}

async function request(baseUrl: string, method: string, path: string, token: string | undefined, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(new URL(path, baseUrl), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error(`Cannot reach the broker API at ${baseUrl} (${(err as Error).cause ?? (err as Error).message}). Is the broker running? Set DEMO_API_URL if it listens elsewhere.`, { cause: err });
  }
  if (res.ok) return res;
  let problem: Problem = { status: res.status, title: res.statusText || "Request failed" };
  try {
    problem = { ...problem, ...((await res.json()) as Partial<Problem>) };
  } catch {
    /* not a problem document */
  }
  throw new ApiError(method, path, problem);
}
