// The operator console (SPEC §18): polls /ui/api/state once a second with the admin key kept in this tab's
// sessionStorage and renders it with textContent only (client-supplied names are never parsed as HTML).
// Charts are uPlot's, served by the proxy itself. No request leaves the page's origin.
"use strict";
(() => {
  const KEY = "llmproxy-admin-key";
  const POLL_MS = 1000;
  const AUTH_ON = document.querySelector('meta[name="llmproxy-auth"]')?.content !== "off";
  const COLORS = ["#2f81f7", "#e5534b", "#57ab5a", "#c69026", "#986ee2", "#39c5cf", "#e0823d", "#8b949e"];
  const $ = (id) => document.getElementById(id);
  let timer;
  const charts = {};

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v !== undefined && v !== null) e[k] = v;
      }
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
  }

  function table(id, head, rows, numeric = []) {
    const t = $(id);
    const tr = el(
      "tr",
      null,
      ...head.map((h, i) => el("th", { className: numeric.includes(i) ? "num" : "" }, h)),
    );
    const body = rows.length
      ? rows.map((r) =>
        el(
          "tr",
          null,
          ...r.map((c, i) =>
            c instanceof Node && c.tagName === "TD"
              ? c
              : el("td", { className: numeric.includes(i) ? "num" : "" }, c)
          ),
        )
      )
      : [el("tr", null, el("td", { colSpan: head.length, className: "hint" }, "none yet"))];
    t.replaceChildren(el("thead", null, tr), el("tbody", null, ...body));
  }

  function keyState(k, now) {
    if (k.state === "ready") return el("span", { className: "state ready" }, "ready");
    const what = k.state === "cooling" ? "cooling" : "failed auth";
    const left = k.until ? Math.max(0, Math.ceil((Date.parse(k.until) - now) / 1000)) : undefined;
    return el(
      "span",
      { className: `state ${k.state}`, title: k.reason ?? "" },
      what,
      el("br"),
      el("small", null, k.until ? `until ${clock(k.until)} (${left} s)` : "until reset"),
    );
  }

  function renderBackends(s) {
    const now = Date.parse(s.now);
    $("backends").replaceChildren(
      ...s.backends.map((b) => {
        const rows = b.keys.map((k) =>
          el(
            "tr",
            { className: "key" },
            el("td", null, k.key),
            el("td", { className: "state-cell" }, keyState(k, now)),
            el("td", { className: "num" }, k.today.requests),
            el("td", { className: "num" }, k.today.rate_limited),
          )
        );
        const card = el(
          "div",
          { className: b.functional ? "backend" : "backend off" },
          el(
            "h3",
            null,
            b.name,
            " ",
            el(
              "small",
              null,
              [
                b.functional ? "functional" : "off",
                b.models === null ? "" : `${b.models} models`,
                b.default ? "default" : "",
              ].filter(Boolean).join(" · "),
            ),
          ),
          b.problem ? el("p", { className: "problem", title: b.problem }, b.problem) : null,
          b.keys.length
            ? el(
              "div",
              { className: "scroll" },
              el(
                "table",
                null,
                el(
                  "thead",
                  null,
                  el(
                    "tr",
                    null,
                    el("th", null, "key"),
                    el("th", null, "state"),
                    el("th", { className: "num", title: "requests today (UTC)" }, "today"),
                    el("th", { className: "num", title: "429 answers today (UTC)" }, "429"),
                  ),
                ),
                el("tbody", null, ...rows),
              ),
            )
            : null,
        );
        card.dataset.backend = b.name;
        for (const [i, k] of b.keys.entries()) {
          rows[i].dataset.key = k.key;
          rows[i].dataset.state = k.state;
        }
        return card;
      }),
    );
  }

  function renderChart(id, hours, series, metric) {
    const names = Object.keys(series);
    const data = [hours, ...names.map((n) => series[n][metric])];
    const box = $(id);
    const width = Math.max(200, box.clientWidth);
    const sig = names.join("\n");
    let c = charts[id];
    if (c && c.sig !== sig) {
      c.plot.destroy();
      c = undefined;
    }
    if (!c) {
      const plot = new uPlot(
        {
          width,
          height: 200,
          series: [
            {},
            ...names.map((n, i) => ({
              label: n,
              stroke: COLORS[i % COLORS.length],
              width: 2,
              points: { show: true },
            })),
          ],
          axes: [{}, { size: 56 }],
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          legend: { live: false },
        },
        data,
        box,
      );
      c = charts[id] = { plot, sig };
      box.dataset.drawn = "true";
    } else {
      c.plot.setData(data);
      if (Math.abs(c.plot.width - width) > 2) c.plot.setSize({ width, height: 200 });
    }
  }

  function outcomeCell(o) {
    return el("td", { className: o === "ok" || o === "local" ? "" : "bad" }, o);
  }

  function render(s) {
    $("version").textContent = s.version;
    $("active").textContent = `${s.active_requests} now`;
    renderBackends(s);
    if (globalThis.uPlot) {
      renderChart("chart-requests", s.charts.hours, s.charts.backends, "requests");
      renderChart("chart-tokens", s.charts.hours, s.charts.backends, "tokens");
    }
    table(
      "in-flight",
      ["since", "session", "agent", "front end", "requested → served", "key", "s"],
      s.in_flight.map((r) => [
        clock(r.time),
        el("td", { className: "wrap" }, r.session ?? ""),
        r.agent ?? "",
        r.frontend,
        el(
          "td",
          { className: "wrap" },
          `${r.requested_model ?? "-"} → ${r.backend ? `${r.backend}:${r.model}` : "…"}`,
        ),
        r.key ?? "",
        r.seconds,
      ]),
      [6],
    );
    table(
      "recent",
      ["time", "session", "agent", "front end", "requested → served", "key", "status", "ms", "tokens"],
      s.recent.map((r) => [
        clock(r.time),
        el("td", { className: "wrap" }, r.session ?? ""),
        r.agent ?? "",
        r.frontend ?? "",
        el(
          "td",
          { className: "wrap" },
          `${r.requested_model ?? "-"} → ${r.backend ? `${r.backend}:${r.model}` : "(local)"}`,
        ),
        r.key ?? "",
        outcomeCell(r.outcome),
        r.latency_ms,
        r.total_tokens ?? "",
      ]),
      [7, 8],
    );
    table(
      "sessions",
      [
        "session",
        "client key",
        "agent",
        "model",
        "backend",
        "project",
        "interactive",
        "last seen",
        "requests",
      ],
      s.sessions.map((x) => [
        el("td", { className: "wrap" }, x.id),
        x.client_key,
        x.agent ?? "",
        x.model ?? "",
        x.backend ?? "",
        x.project ?? "",
        x.interactive === undefined ? "default" : x.interactive ? "on" : "off",
        clock(x.last_seen),
        x.requests,
      ]),
      [8],
    );
    table(
      "routes",
      ["route", "policy", "elements"],
      s.routes.map((r) => [r.name, r.policy, el("td", { className: "wrap" }, r.elements.join(", "))]),
    );
    table(
      "settings",
      ["setting", "value", "at start"],
      s.settings.map((x) => {
        const v = JSON.stringify(x.value);
        const changed = v !== JSON.stringify(x.start);
        return [
          `--${x.name}`,
          el("td", { className: changed ? "wrap state cooling" : "wrap" }, v),
          el("td", { className: "wrap" }, changed ? JSON.stringify(x.start) : ""),
        ];
      }),
    );
    $("status").textContent = `live · updated ${clock(s.now)}`;
  }

  function showLogin(message) {
    clearTimeout(timer);
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message ?? "";
    $("status").textContent = "key needed";
    $("key").focus();
  }

  async function poll() {
    clearTimeout(timer);
    const key = sessionStorage.getItem(KEY);
    if (AUTH_ON && !key) return showLogin();
    let res;
    try {
      res = await fetch("/ui/api/state", {
        headers: key ? { authorization: `Bearer ${key}` } : {},
        cache: "no-store",
      });
    } catch {
      $("status").textContent = "proxy unreachable, retrying…";
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (res.status === 401 || res.status === 403) {
      sessionStorage.removeItem(KEY);
      const body = await res.json().catch(() => ({}));
      return showLogin(body?.error?.message ?? "That key was not accepted.");
    }
    if (!res.ok) {
      $("status").textContent = `error ${res.status}, retrying…`;
      await res.body?.cancel();
    } else {
      $("login").hidden = true;
      $("app").hidden = false;
      render(await res.json());
    }
    timer = setTimeout(poll, POLL_MS);
  }

  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("key");
    const value = input.value.trim();
    input.value = "";
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    poll();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showLogin();
  });
  addEventListener("resize", () => {
    for (const [id, c] of Object.entries(charts)) {
      const width = Math.max(200, $(id).clientWidth);
      c.plot.setSize({ width, height: 200 });
    }
  });
  poll();
})();
