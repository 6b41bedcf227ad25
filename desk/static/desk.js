/* zhiyin support desk front-end: login page and the agent workspace (one file, no build step).
 * All data is rendered with textContent; no inline handlers (CSP script-src 'self'). */
(function () {
  "use strict";

  // ---------------------------------------------------------------- labels

  const CHANNELS = { socketio: "网页", rest: "接口", telegram: "Telegram", slack: "Slack", voice: "语音" };
  const KINDS = { complaint: "投诉", suggestion: "建议", handoff: "转人工", callback: "回电" };
  const STATUSES = { open: "待处理", in_progress: "处理中", resolved: "已解决", closed: "已关闭" };
  const ROLES = { agent: "客服", lead: "组长" };
  const FIELDS = { status: "状态", assignee: "处理人", assignee_id: "处理人", kind: "类型", product: "商品", phone_viewed: "查看电话", rating: "评分" };
  const ENTITIES = { product: "商品", order_id: "订单号", company: "品牌", phone_number: "电话", invoice_kind: "发票类型" };
  const INTENTS = {
    greet: "问候", goodbye: "再见", thank: "感谢", affirm: "肯定", deny: "否定", bot_challenge: "询问是否机器人",
    ask_product_info: "商品咨询", ask_price: "询价", ask_stock: "库存", check_order_status: "查订单",
    order_status: "查订单", ask_shipping: "物流", ask_return_policy: "退货政策", file_complaint: "投诉",
    give_suggestion: "建议", request_human: "转人工", nlu_fallback: "未识别", rate_service: "评分", inform: "提供信息", out_of_scope: "超出范围", stop: "停止",
    request_invoice: "开发票", check_invoice: "查发票", check_refund: "查退款", check_after_sales: "售后进度",
    cancel_order: "取消订单", change_address: "改地址", reschedule_delivery: "改约配送", urge_delivery: "催发货",
    price_protection: "价保", book_installation: "预约安装", faq: "常见问题",
  };

  const label = (map, key) => (key == null || key === "" ? "—" : map[key] || String(key));

  // ---------------------------------------------------------------- formatting

  const pad = (n) => String(n).padStart(2, "0");

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function fmtDuration(seconds) {
    if (seconds == null || isNaN(seconds)) return "—";
    const s = Math.max(0, Math.round(Number(seconds)));
    if (s < 60) return `${s}秒`;
    if (s < 3600) return `${Math.floor(s / 60)}分${s % 60}秒`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m ? `${h}小时${m}分` : `${h}小时`;
  }

  function stars(rating) {
    if (rating == null) return "—";
    const n = Math.max(0, Math.min(5, Number(rating)));
    return "★".repeat(n) + "☆".repeat(5 - n);
  }

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);

  /** Build an element: el("div", {class: "x", dataset: {a: 1}}, "text", child, [children]). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    appendAll(node, children);
    return node;
  }

  function appendAll(node, children) {
    for (const child of children) {
      if (child == null || child === false) continue;
      if (Array.isArray(child)) appendAll(node, child);
      else node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function statusTag(status) {
    return el("span", { class: `status-tag status-${status}`, text: label(STATUSES, status) });
  }

  function fieldList(node, rows) {
    clear(node);
    for (const [name, value] of rows) {
      node.appendChild(el("dt", { text: name }));
      node.appendChild(el("dd", {}, value instanceof Node ? value : value == null || value === "" ? "—" : String(value)));
    }
    return node;
  }

  // ---------------------------------------------------------------- banners

  function banner(message, kind) {
    const box = $("banners");
    if (!box) return;
    const item = el("div", { class: `banner ${kind || "error"}`, role: kind === "error" ? "alert" : "status" },
      el("span", { text: message }),
      el("button", { type: "button", "aria-label": "关闭", text: "×", onclick: () => item.remove() }));
    box.appendChild(item);
    while (box.children.length > 4) box.firstChild.remove();
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  }

  const showError = (err) => banner((err && err.message) || "操作失败", "error");

  // ---------------------------------------------------------------- API

  const state = {
    me: null,
    csrf: "",
    staffList: null,
    queueStream: null,
    queueData: null,
    queueAt: 0,
    view: null,
    conv: null, // {id, data, stream, firstRender}
    convPhones: {}, // ticket id -> revealed phone number
    ticketId: null,
    ticket: null,
    teamTimer: null,
  };

  function goLogin() {
    window.location.href = "/agent/login";
  }

  /** fetch JSON; throws Error(message from the server) with .status; 401 sends to login. */
  async function api(method, path, body, opts) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const err = new Error("网络连接失败，请稍后重试");
      err.status = 0;
      throw err;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (response.status === 401 && !(opts && opts.noRedirect)) {
      goLogin();
      const err = new Error("登录已过期");
      err.status = 401;
      throw err;
    }
    if (!response.ok) {
      let message = data && data.error;
      if (!message) message = response.status === 403 ? "没有权限" : `请求失败（${response.status}）`;
      const err = new Error(message);
      err.status = response.status;
      throw err;
    }
    return data || {};
  }

  // ---------------------------------------------------------------- login page

  function initLogin() {
    const form = $("login-form");
    const button = $("login-button");
    const errorBox = $("login-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.textContent = "";
      const username = $("username").value.trim();
      const password = $("password").value;
      if (!username || !password) {
        errorBox.textContent = "请输入用户名和密码";
        return;
      }
      button.disabled = true;
      try {
        await api("POST", "/agent/api/login", { username, password }, { noRedirect: true });
        window.location.href = "/agent/";
      } catch (err) {
        errorBox.textContent = err.message || "登录失败";
        button.disabled = false;
      }
    });
  }

  // ---------------------------------------------------------------- live streams

  /** EventSource with a reconnect that also notices an expired session (401 → login). */
  function openStream(url, eventName, onData, checkPath) {
    const holder = { source: null, closed: false, timer: null };
    const connect = () => {
      if (holder.closed) return;
      const source = new EventSource(url, { withCredentials: true });
      holder.source = source;
      source.addEventListener(eventName, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        onData(data);
      });
      source.addEventListener("error", () => {
        if (holder.closed || source.readyState !== EventSource.CLOSED) return;
        // The server refused the stream: find out why (401 redirects, other errors are shown).
        api("GET", checkPath).catch((err) => {
          if (err.status && err.status !== 401) showError(err);
        });
        holder.timer = setTimeout(connect, 5000);
      });
    };
    connect();
    return {
      close() {
        holder.closed = true;
        clearTimeout(holder.timer);
        if (holder.source) holder.source.close();
      },
    };
  }

  // ---------------------------------------------------------------- top bar

  function renderTopbar(me) {
    const staff = me.staff || {};
    $("staff-name").textContent = staff.name || staff.username || "";
    $("staff-role").textContent = label(ROLES, staff.role);
    $("tab-team").hidden = staff.role !== "lead";
    const service = me.service || {};
    const status = $("service-status");
    status.textContent = `${service.open ? "服务中" : "非服务时间"}${service.hours ? ` · ${service.hours}` : ""}`;
    status.className = `service-status ${service.open ? "open" : "closed"}`;
  }

  const isLead = () => !!(state.me && state.me.role === "lead");

  // ---------------------------------------------------------------- queue

  function onQueue(data) {
    state.queueData = data;
    state.queueAt = Date.now();
    const waiting = (data.waiting || []).length;
    const badge = $("waiting-badge");
    badge.textContent = String(waiting);
    badge.hidden = waiting === 0;
    document.title = waiting ? `(${waiting}) 客服工作台 · 智音客服` : "客服工作台 · 智音客服";
    if (state.view === "queue") renderQueue();
  }

  function renderQueue() {
    const data = state.queueData;
    if (!data) return;
    const sections = [
      ["waiting", "queue-waiting", "暂无等待接入的客户"],
      ["mine", "queue-mine", "你当前没有接待中的对话"],
      ["others", "queue-others", "同事暂无接待中的对话"],
    ];
    for (const [key, id, emptyText] of sections) {
      const list = clear($(id));
      const entries = data[key] || [];
      $(`count-${key}`).textContent = String(entries.length);
      if (!entries.length) list.appendChild(el("p", { class: "empty", text: emptyText }));
      for (const entry of entries) list.appendChild(queueCard(entry, key));
    }
    tickWaits();
  }

  function queueCard(entry, section) {
    const understood = entry.understood || {};
    const tags = [];
    if (understood.intent) tags.push(["意图", label(INTENTS, understood.intent)]);
    if (understood.product) tags.push(["商品", understood.product]);
    if (understood.order_id) tags.push(["订单", understood.order_id]);
    let action = null;
    if (section === "waiting") {
      action = el("button", { type: "button", class: "btn btn-primary btn-small claim", text: "接入" });
      action.addEventListener("click", () => claimTicket(entry.ticket_id, action));
    } else if (section === "mine") {
      action = el("a", { class: "btn btn-primary btn-small open", href: `#conversation/${entry.ticket_id}`, text: "打开" });
    } else {
      action = el("a", { class: "btn btn-small", href: `#conversation/${entry.ticket_id}`, text: "查看" });
    }
    return el("div", {
      class: `q-card q-${section}`,
      dataset: { ticketId: entry.ticket_id, sender: entry.sender || "" },
    },
    el("div", { class: "q-head" },
      el("span", { class: "q-wait", title: "等待时长", dataset: { wait: entry.wait_seconds || 0 } }),
      el("span", { class: "tag channel", text: label(CHANNELS, entry.channel) }),
      section === "waiting" && entry.position ? el("span", { class: "q-pos", text: `第 ${entry.position} 位` }) : null,
      el("span", { class: "q-number", text: entry.number || "" })),
    el("div", { class: "q-last", text: entry.last_message || "（无消息）" }),
    tags.length
      ? el("div", { class: "q-understood" },
        tags.map(([k, v]) => el("span", { class: "tag kv" }, `${k}：`, el("b", { text: v }))))
      : el("div", { class: "q-understood muted", text: "机器人未识别出意图" }),
    el("div", { class: "q-foot" },
      el("span", { class: "muted small" },
        `客户 ${entry.sender || "—"}`,
        entry.assignee && section !== "mine" ? ` · ${entry.assignee.name || entry.assignee.username}` : ""),
      action));
  }

  /** Count waits up each second from the wait_seconds of the last queue event. */
  function tickWaits() {
    if (state.view !== "queue") return;
    const extra = (Date.now() - state.queueAt) / 1000;
    for (const node of document.querySelectorAll("#view-queue .q-wait")) {
      const seconds = Number(node.dataset.wait) + extra;
      node.textContent = fmtDuration(seconds);
      node.classList.toggle("long", seconds >= 300);
    }
  }

  async function claimTicket(ticketId, button) {
    if (button) button.disabled = true;
    try {
      await api("POST", `/agent/api/conversations/${ticketId}/claim`, {});
      banner("已接入对话", "success");
      if (location.hash === `#conversation/${ticketId}`) refreshConversation(ticketId);
      else location.hash = `#conversation/${ticketId}`;
    } catch (err) {
      showError(err);
    } finally {
      if (button) button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- conversation

  function enterConversation(id) {
    state.conv = { id, data: null, stream: null, firstRender: true };
    $("conv-title").textContent = "会话";
    $("conv-status").textContent = "";
    $("conv-assignee").textContent = "";
    clear($("transcript")).appendChild(el("p", { class: "empty", text: "加载中…" }));
    clear($("customer-panel"));
    $("reply-text").value = "";
    updateConvControls();
    refreshConversation(id);
    state.conv.stream = openStream(`/agent/api/conversations/${id}/stream`, "conversation", (data) => {
      if (state.conv && state.conv.id === id) renderConversation(data);
    }, `/agent/api/conversations/${id}`);
  }

  function leaveConversation() {
    if (state.conv && state.conv.stream) state.conv.stream.close();
    state.conv = null;
  }

  async function refreshConversation(id) {
    try {
      const data = await api("GET", `/agent/api/conversations/${id}`);
      if (state.conv && state.conv.id === id) renderConversation(data);
    } catch (err) {
      showError(err);
      if (state.conv && state.conv.id === id && !state.conv.data) {
        clear($("transcript")).appendChild(el("p", { class: "empty", text: "无法加载该会话" }));
      }
    }
  }

  function convMine() {
    const ticket = state.conv && state.conv.data && state.conv.data.ticket;
    return !!(ticket && ticket.status === "in_progress" && ticket.assignee && state.me &&
      ticket.assignee.id === state.me.id);
  }

  function updateConvControls() {
    const ticket = state.conv && state.conv.data && state.conv.data.ticket;
    const mine = convMine();
    $("reply-text").disabled = !mine;
    $("reply-send").disabled = !mine;
    $("handback").disabled = !mine;
    $("close").disabled = !mine;
    const waiting = !!(ticket && ticket.status === "open" && !ticket.assignee);
    $("claim").hidden = !waiting;
    let hint = "";
    if (!ticket) hint = "";
    else if (mine) hint = "你正在接待该客户";
    else if (waiting) hint = "客户正在等待，接入后即可回复";
    else if (ticket.status === "in_progress" && ticket.assignee) hint = `由 ${ticket.assignee.name || ticket.assignee.username} 接待中，只读`;
    else hint = "会话未在人工接待中，只读";
    $("reply-hint").textContent = hint;
  }

  function renderConversation(data) {
    const conv = state.conv;
    conv.data = data;
    const ticket = data.ticket || {};
    $("conv-title").textContent = `会话 ${ticket.number || ""}`;
    const status = $("conv-status");
    status.textContent = label(STATUSES, ticket.status);
    status.className = `status-tag status-${ticket.status}`;
    $("conv-assignee").textContent = ticket.assignee ? `接待：${ticket.assignee.name || ticket.assignee.username}` : "";
    renderTranscript(data.transcript || []);
    renderCustomer(data.customer || {}, ticket);
    updateConvControls();
  }

  function renderTranscript(messages) {
    const box = $("transcript");
    const atBottom = state.conv.firstRender || box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    clear(box);
    if (!messages.length) box.appendChild(el("p", { class: "empty", text: "暂无消息" }));
    for (const m of messages) box.appendChild(messageNode(m));
    if (atBottom) box.scrollTop = box.scrollHeight;
    state.conv.firstRender = false;
  }

  function messageNode(m) {
    const who = ["customer", "bot", "agent", "system"].includes(m.who) ? m.who : "system";
    const names = { customer: "客户", bot: "机器人", agent: m.agent || "客服", system: "系统" };
    const meta = el("div", { class: "msg-meta" },
      who === "system" ? null : el("span", { class: "msg-author", text: names[who] }),
      m.voice ? el("span", { class: "tag voice-tag", text: "🎤 语音转写" }) : null,
      who === "customer" && m.intent
        ? el("span", { class: "tag", title: "识别意图", text: `${label(INTENTS, m.intent)}${m.confidence != null ? ` ${Math.round(m.confidence * 100)}%` : ""}` })
        : null,
      el("time", { class: "msg-time", datetime: m.time || "", text: fmtTime(m.time) }));
    const buttons = (m.buttons || []).length
      ? el("div", { class: "chips" }, m.buttons.map((b) => el("span", { class: "chip", title: b.payload || "", text: b.title || b.payload || "" })))
      : null;
    return el("div", { class: `msg msg-${who}`, dataset: { id: m.id } },
      meta, el("div", { class: "msg-body", text: m.text || "" }), buttons);
  }

  function renderCustomer(customer, ticket) {
    const panel = clear($("customer-panel"));
    const phones = state.convPhones;
    let phoneNode = null;
    if (phones[ticket.id]) {
      phoneNode = el("span", { class: "phone-row" },
        el("span", { text: phones[ticket.id] }), el("span", { class: "logged-note", text: "已记录查看" }));
    } else if (customer.has_phone) {
      const reveal = el("button", { type: "button", id: "reveal-phone", class: "btn btn-small", text: "查看" });
      reveal.addEventListener("click", () => revealPhone(ticket.id, reveal));
      phoneNode = el("span", { class: "phone-row" }, el("span", { text: customer.phone_masked || "已留电话" }), reveal);
    }
    panel.appendChild(el("section", {},
      el("h4", { text: "客户信息" }),
      fieldList(el("dl", { class: "fields" }), [
        ["渠道", label(CHANNELS, customer.channel)],
        ["客户标识", customer.sender],
        ["电话", phoneNode],
      ])));

    const entities = Object.entries(customer.entities || {}).filter(([, v]) => v != null && v !== "");
    panel.appendChild(el("section", {},
      el("h4", { text: "识别信息" }),
      entities.length
        ? fieldList(el("dl", { class: "fields" }), entities.map(([k, v]) => [label(ENTITIES, k), String(v)]))
        : el("p", { class: "muted small", text: "暂无" })));

    panel.appendChild(el("section", {}, el("h4", { text: "订单" }), orderCard(customer.order)));

    const others = (customer.tickets || []).filter((t) => t.id !== ticket.id);
    panel.appendChild(el("section", {},
      el("h4", { text: "历史工单" }),
      others.length
        ? el("ul", { class: "mini-list" }, others.map((t) => el("li", {},
          el("a", { href: `#tickets/${t.id}`, text: t.number || `#${t.id}` }),
          el("span", { class: "tag", text: label(KINDS, t.kind) }),
          statusTag(t.status),
          el("span", { class: "muted small", text: fmtTime(t.created_at) }))))
        : el("p", { class: "muted small", text: "暂无其他工单" })));
  }

  function orderCard(order) {
    if (!order) return el("p", { class: "muted small", text: "未关联订单" });
    const events = order.events || [];
    return el("div", { class: "order-card" },
      fieldList(el("dl", { class: "fields" }), [
        ["订单号", order.order_id],
        ["商品", order.quantity ? `${order.product || "—"} × ${order.quantity}` : order.product],
        ["状态", order.status],
        ["快递", order.carrier],
        ["运单号", order.tracking_no],
        ["地址", order.address],
        ["下单时间", fmtTime(order.created_at)],
      ]),
      events.length
        ? el("ul", { class: "timeline" }, events.map((e) => el("li", {},
          el("div", { class: "t-time", text: `${fmtTime(e.time)}${e.location ? ` · ${e.location}` : ""}` }),
          el("div", { text: e.description || "" }))))
        : el("p", { class: "muted small", text: "暂无物流信息" }));
  }

  async function revealPhone(ticketId, button) {
    button.disabled = true;
    try {
      const data = await api("POST", `/agent/api/conversations/${ticketId}/reveal-phone`, {});
      state.convPhones[ticketId] = data.phone || "—";
      if (state.conv && state.conv.data) renderCustomer(state.conv.data.customer || {}, state.conv.data.ticket || {});
    } catch (err) {
      showError(err);
      button.disabled = false;
    }
  }

  async function sendReply() {
    if (!state.conv || !convMine()) return;
    const box = $("reply-text");
    const text = box.value.trim();
    if (!text) return;
    const id = state.conv.id;
    $("reply-send").disabled = true;
    try {
      const data = await api("POST", `/agent/api/conversations/${id}/reply`, { text });
      box.value = "";
      const conv = state.conv;
      if (conv && conv.id === id && conv.data && data.message) {
        const transcript = conv.data.transcript || (conv.data.transcript = []);
        if (!transcript.some((m) => m.id === data.message.id)) transcript.push(data.message);
        const t = $("transcript");
        renderTranscript(transcript);
        t.scrollTop = t.scrollHeight;
      }
    } catch (err) {
      showError(err);
    } finally {
      updateConvControls();
      box.focus();
    }
  }

  async function convAction(action, doneText) {
    if (!state.conv) return;
    const id = state.conv.id;
    for (const bid of ["handback", "close"]) $(bid).disabled = true;
    try {
      await api("POST", `/agent/api/conversations/${id}/${action}`, {});
      banner(doneText, "success");
      location.hash = "#queue";
    } catch (err) {
      showError(err);
      updateConvControls();
    }
  }

  // ---------------------------------------------------------------- tickets

  async function loadStaff() {
    if (state.staffList) return state.staffList;
    try {
      const data = await api("GET", "/agent/api/staff");
      state.staffList = data.staff || [];
    } catch (err) {
      showError(err);
      state.staffList = [];
    }
    return state.staffList;
  }

  const staffName = (s) => (s ? s.name || s.username : "未分配");

  async function loadTickets() {
    const params = new URLSearchParams();
    for (const name of ["kind", "status", "product", "since", "until"]) {
      const value = $(`filter-${name}`).value.trim();
      if (value) params.set(name, value);
    }
    const query = params.toString();
    const body = $("tickets-table").tBodies[0];
    try {
      const data = await api("GET", `/agent/api/tickets${query ? `?${query}` : ""}`);
      const tickets = data.tickets || [];
      clear(body);
      for (const t of tickets) {
        const row = el("tr", { tabindex: "0", dataset: { ticketId: t.id } },
          el("td", { text: t.number || `#${t.id}` }),
          el("td", { text: label(KINDS, t.kind) }),
          el("td", {}, statusTag(t.status)),
          el("td", { text: t.product || "—" }),
          el("td", { text: fmtTime(t.created_at) }),
          el("td", { text: t.assignee ? staffName(t.assignee) : "—" }),
          el("td", {}, t.rating == null ? "—" : el("span", { class: "stars", title: `${t.rating} / 5`, text: stars(t.rating) })));
        body.appendChild(row);
      }
      $("tickets-empty").hidden = tickets.length > 0;
    } catch (err) {
      showError(err);
    }
  }

  function openRow(event) {
    const row = event.target.closest("tr[data-ticket-id]");
    if (!row) return;
    if (event.type === "keydown" && event.key !== "Enter") return;
    location.hash = `#tickets/${row.dataset.ticketId}`;
  }

  async function loadTicket(id) {
    try {
      const [data, staff] = await Promise.all([api("GET", `/agent/api/tickets/${id}`), loadStaff()]);
      if (state.view !== "ticket" || state.ticketId !== id) return;
      state.ticket = data.ticket;
      renderTicket(data, staff);
    } catch (err) {
      showError(err);
    }
  }

  function renderTicket(data, staff) {
    const t = data.ticket || {};
    $("ticket-title").textContent = `工单 ${t.number || `#${t.id}`}`;
    const tag = $("ticket-status-tag");
    tag.textContent = label(STATUSES, t.status);
    tag.className = `status-tag status-${t.status}`;
    fieldList($("ticket-fields"), [
      ["编号", t.number],
      ["类型", label(KINDS, t.kind)],
      ["状态", label(STATUSES, t.status)],
      ["内容", t.text],
      ["商品", t.product],
      ["订单号", t.order_id],
      ["渠道", t.channel ? label(CHANNELS, t.channel) : null],
      ["客户", t.sender],
      ["电话", t.phone_masked],
      ["处理人", t.assignee ? staffName(t.assignee) : "未分配"],
      ["评分", t.rating == null ? null : el("span", { class: "stars", title: `${t.rating} / 5`, text: stars(t.rating) })],
      ["创建时间", fmtTime(t.created_at)],
      ["更新时间", fmtTime(t.updated_at)],
    ]);
    $("ticket-status").value = t.status;
    const select = clear($("ticket-assignee"));
    select.appendChild(el("option", { value: "", text: "未分配" }));
    const list = staff.slice();
    if (t.assignee && !list.some((s) => s.id === t.assignee.id)) list.push(t.assignee);
    for (const s of list) {
      select.appendChild(el("option", { value: s.id, text: `${staffName(s)}（${label(ROLES, s.role)}）` }));
    }
    select.value = t.assignee ? String(t.assignee.id) : "";
    const live = $("ticket-live-link");
    clear(live);
    if ((t.kind === "handoff" || t.kind === "callback") && t.sender) {
      live.appendChild(el("a", { href: `#conversation/${t.id}`, text: "打开对应会话 →" }));
    }

    const notes = clear($("note-list"));
    if (!(data.notes || []).length) notes.appendChild(el("li", { class: "muted small", text: "暂无备注" }));
    for (const n of data.notes || []) {
      notes.appendChild(el("li", {},
        el("div", { class: "muted small", text: `${n.author || "—"} · ${fmtTime(n.time)}` }),
        el("div", { class: "n-text", text: n.text || "" })));
    }

    const history = clear($("history-list"));
    if (!(data.history || []).length) history.appendChild(el("li", { class: "muted small", text: "暂无变更" }));
    for (const h of data.history || []) {
      history.appendChild(el("li", {},
        el("span", { class: "h-time", text: fmtTime(h.time) }),
        `${h.actor || "系统"} 将${label(FIELDS, h.field)}由「${historyValue(h.field, h.old)}」改为「${historyValue(h.field, h.new)}」`));
    }
  }

  function historyValue(field, value) {
    if (value == null || value === "") return field === "assignee" || field === "assignee_id" ? "未分配" : "空";
    if (field === "status") return label(STATUSES, value);
    if (field === "kind") return label(KINDS, value);
    if (field === "assignee" || field === "assignee_id") {
      const match = (state.staffList || []).find((s) => s.username === value || String(s.id) === String(value));
      return match ? staffName(match) : String(value);
    }
    return String(value);
  }

  async function saveTicket() {
    const t = state.ticket;
    if (!t) return;
    const body = {};
    const status = $("ticket-status").value;
    if (status !== t.status) body.status = status;
    const assigneeValue = $("ticket-assignee").value;
    const assigneeId = assigneeValue ? Number(assigneeValue) : null;
    if (assigneeId !== (t.assignee ? t.assignee.id : null)) body.assignee_id = assigneeId;
    if (!Object.keys(body).length) {
      banner("没有需要保存的修改", "info");
      return;
    }
    $("ticket-save").disabled = true;
    try {
      await api("POST", `/agent/api/tickets/${t.id}`, body);
      banner("工单已保存", "success");
      await loadTicket(t.id);
    } catch (err) {
      showError(err);
    } finally {
      $("ticket-save").disabled = false;
    }
  }

  async function addNote() {
    const t = state.ticket;
    const box = $("note-text");
    const text = box.value.trim();
    if (!t || !text) return;
    $("note-add").disabled = true;
    try {
      await api("POST", `/agent/api/tickets/${t.id}/notes`, { text });
      box.value = "";
      await loadTicket(t.id);
    } catch (err) {
      showError(err);
    } finally {
      $("note-add").disabled = false;
    }
  }

  // ---------------------------------------------------------------- team

  function statCard(name, value) {
    return el("div", { class: "stat-card" },
      el("div", { class: "stat-label", text: name }),
      el("div", { class: "stat-value", text: value }));
  }

  async function loadStats() {
    try {
      const s = await api("GET", "/agent/api/stats");
      if (state.view !== "team") return;
      const cards = clear($("stat-cards"));
      cards.appendChild(statCard("当前等待", String(s.waiting_now != null ? s.waiting_now : 0)));
      cards.appendChild(statCard("等待时长中位数", fmtDuration(s.median_wait_seconds)));
      cards.appendChild(statCard("首次响应中位数", fmtDuration(s.median_first_response_seconds)));
      cards.appendChild(statCard(`满意度 (${s.csat_count || 0} 条评价)`,
        s.csat_average == null ? "—" : `${Number(s.csat_average).toFixed(1)} / 5`));
      const byStatus = clear($("status-cards"));
      const counts = s.tickets_by_status || {};
      for (const key of Object.keys(STATUSES)) byStatus.appendChild(statCard(STATUSES[key], String(counts[key] || 0)));
      $("stats-updated").textContent = `更新于 ${fmtTime(new Date().toISOString())}，每 10 秒刷新`;
    } catch (err) {
      showError(err);
      if (err.status === 403) stopTeam();
    }
  }

  function stopTeam() {
    clearInterval(state.teamTimer);
    state.teamTimer = null;
  }

  // ---------------------------------------------------------------- routing

  const VIEWS = ["queue", "conversation", "tickets", "ticket", "team"];

  function route() {
    const hash = location.hash.replace(/^#/, "") || "queue";
    const parts = hash.split("/");
    let view = parts[0];
    const id = parts[1] && /^\d+$/.test(parts[1]) ? Number(parts[1]) : null;
    if (view === "conversation" && id == null) view = "queue";
    if (view === "tickets" && id != null) view = "ticket";
    if (view === "team" && !isLead()) {
      banner("没有权限", "error");
      view = "queue";
    }
    if (!VIEWS.includes(view)) view = "queue";

    // Leave the current view.
    if (state.view === "conversation" && !(view === "conversation" && state.conv && state.conv.id === id)) {
      leaveConversation();
    }
    if (state.view === "team" && view !== "team") stopTeam();

    const sameConversation = view === "conversation" && state.conv && state.conv.id === id;
    state.view = view;
    for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
    const tab = view === "ticket" ? "tickets" : view === "conversation" ? "queue" : view;
    for (const link of document.querySelectorAll(".tab")) link.classList.toggle("active", link.dataset.tab === tab);

    if (view === "queue") renderQueue();
    else if (view === "conversation" && !sameConversation) enterConversation(id);
    else if (view === "tickets") loadTickets();
    else if (view === "ticket") {
      state.ticketId = id;
      state.ticket = null;
      $("note-text").value = "";
      loadTicket(id);
    } else if (view === "team" && !state.teamTimer) {
      loadStats();
      state.teamTimer = setInterval(loadStats, 10000);
    }
    window.scrollTo(0, 0);
  }

  // ---------------------------------------------------------------- desk init

  async function initDesk() {
    let me;
    try {
      me = await api("GET", "/agent/api/me");
    } catch (err) {
      if (err.status !== 401) showError(err);
      return;
    }
    state.me = me.staff || {};
    state.csrf = me.csrf || "";
    renderTopbar(me);

    $("logout").addEventListener("click", async () => {
      try {
        await api("POST", "/agent/api/logout", {});
      } catch (err) {
        if (err.status === 401) return;
      }
      goLogin();
    });

    // Conversation controls.
    $("reply-send").addEventListener("click", sendReply);
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sendReply();
      }
    });
    $("claim").addEventListener("click", () => state.conv && claimTicket(state.conv.id, $("claim")));
    $("handback").addEventListener("click", () => convAction("handback", "已交还机器人"));
    $("close").addEventListener("click", () => convAction("close", "会话已结束"));

    // Tickets.
    const filters = $("ticket-filters");
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      loadTickets();
    });
    filters.addEventListener("reset", () => setTimeout(loadTickets, 0));
    for (const id of ["filter-kind", "filter-status", "filter-since", "filter-until"]) {
      $(id).addEventListener("change", loadTickets);
    }
    const table = $("tickets-table");
    table.addEventListener("click", openRow);
    table.addEventListener("keydown", openRow);
    $("ticket-save").addEventListener("click", saveTicket);
    $("note-add").addEventListener("click", addNote);
    $("note-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        addNote();
      }
    });

    // Live queue, kept open on every view (it feeds the waiting badge).
    state.queueStream = openStream("/agent/api/stream", "queue", onQueue, "/agent/api/queue");
    setInterval(tickWaits, 1000);
    window.addEventListener("beforeunload", () => {
      if (state.queueStream) state.queueStream.close();
      leaveConversation();
    });

    window.addEventListener("hashchange", route);
    route();
  }

  // ---------------------------------------------------------------- boot

  function boot() {
    if ($("login-form")) initLogin();
    else if ($("view-queue")) initDesk();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
