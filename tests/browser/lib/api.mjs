// A small client of deskbind's JSON API, for setting up what a browser test
// then looks at. It speaks the documented contract (openapi.yaml) and
// fails loudly on any unexpected status.
export class Api {
  constructor(url, token = null) {
    this.url = url;
    this.token = token;
  }

  async request(method, path, body, { expect = [200, 201, 204], headers = {}, raw = false } = {}) {
    const init = { method, headers: { ...headers } };
    if (this.token) init.headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      if (raw) {
        init.body = body;
      } else {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    const res = await fetch(this.url + path, init);
    const text = await res.text();
    if (!expect.includes(res.status)) {
      throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    }
    const type = res.headers.get("content-type") || "";
    return type.includes("json") && text ? JSON.parse(text) : text;
  }

  get(path, opts) { return this.request("GET", path, undefined, opts); }
  post(path, body, opts) { return this.request("POST", path, body, opts); }
  put(path, body, opts) { return this.request("PUT", path, body, opts); }
  patch(path, body, opts) { return this.request("PATCH", path, body, opts); }
  delete(path, opts) { return this.request("DELETE", path, undefined, opts); }

  /** A client signed in as `email`. */
  static async login(url, email, password) {
    const tokens = await new Api(url).post("/v1/auth/login", { email, password });
    return new Api(url, tokens.access_token);
  }

  createUser({ email, name, role = "salesperson", password = "user-password-123", teamIds = [], timeZone }) {
    const body = { email, display_name: name || email.split("@")[0], role, password, team_ids: teamIds };
    if (timeZone) body.time_zone = timeZone;
    return this.post("/v1/users", body);
  }

  createTeam(name) { return this.post("/v1/teams", { name }); }

  createPhone({ number, label, extension }) {
    const body = { number, label };
    if (extension) body.extension = extension;
    return this.post("/v1/phones", body);
  }

  provisioningCode(phoneId) { return this.post(`/v1/phones/${phoneId}/provisioning-code`, {}); }
}

/** A provisioned phone: its own credential on /v1/phone/... routes. */
export async function provisionPhone(url, code) {
  const provisioned = await new Api(url).post("/v1/phone/provision", { code });
  return { id: provisioned.phone_id, api: new Api(url, provisioned.credential) };
}
