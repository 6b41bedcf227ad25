/*
 * zhiyin (智音客服) web chat widget.
 *
 * Embed on any page:
 *   <script src="https://YOUR-HOST:5005/chat/widget.js" defer></script>
 * Options (data- attributes on the script tag):
 *   data-server  the zhiyin server (default: where widget.js came from)
 *   data-mode    "floating" (default: a launcher button in the corner) or "page" (fills
 *                the element given by data-target, or the body)
 *   data-customer-token  optional: the shop's token for a signed-in customer, sent with every
 *                message (socket.io `customData.customer_token`, a voice upload's
 *                `customer_token` field); the dialogue reads it from the message's metadata
 *
 * Text goes over socket.io to Rasa's socketio channel (session persistence: the session id
 * is kept in localStorage, so a reload continues the same conversation, and the history is
 * redrawn from localStorage). The microphone button records with MediaRecorder and posts the
 * recording to the voice channel; the transcript is shown as the customer's message.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var server = (script && script.dataset.server) || new URL(script.src, location.href).origin;
  var mode = (script && script.dataset.mode) || "floating";
  var target = script && script.dataset.target ? document.querySelector(script.dataset.target) : document.body;
  var customerToken = (script && script.dataset.customerToken) || "";
  var store = "zhiyin:" + server + ":";
  var MAX_RECORDING_MS = 60000;
  var MAX_HISTORY = 200;
  var TYPING_TIMEOUT_MS = 20000;

  var TEXT = {
    title: "智音客服",
    placeholder: "请输入您的问题…",
    send: "发送",
    online: "在线",
    connecting: "连接中…",
    reconnecting: "连接已断开，正在重新连接…",
    loadFailed: "客服系统加载失败，请刷新页面重试。",
    micStart: "点击开始录音",
    micStop: "点击结束录音并发送",
    recording: "正在录音，再次点击麦克风发送（最长 60 秒）",
    micDenied: "无法使用麦克风：请在浏览器中允许本页面使用麦克风，或直接输入文字。",
    micMissing: "没有找到可用的麦克风，请直接输入文字。",
    noRecorder: "当前浏览器或页面不支持录音（需要 HTTPS），请直接输入文字。",
    emptyRecording: "没有录到声音，请再试一次。",
    busy: "语音识别繁忙，请稍后再试，或直接输入文字。",
    tooLong: "语音太长了，请控制在 60 秒以内。",
    voiceFailed: "语音发送失败，请重试或直接输入文字。",
    network: "网络连接失败，请检查网络后重试。",
    open: "在线客服",
    close: "收起",
  };

  function newSessionId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return (Date.now().toString(16) + Math.random().toString(16).slice(2)).slice(0, 32);
  }

  function load(key, fallback) {
    try {
      var value = localStorage.getItem(store + key);
      return value === null ? fallback : JSON.parse(value);
    } catch (error) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(store + key, JSON.stringify(value));
    } catch (error) {
      /* private mode or full storage: the chat still works, only without history */
    }
  }

  var sessionId = load("session", null) || newSessionId();
  save("session", sessionId);
  var history = load("history", []);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* ---- DOM ---------------------------------------------------------------------------- */
  var root = el("div", "zy-widget zy-" + mode);
  var launcher = el("button", "zy-launcher", TEXT.open);
  launcher.type = "button";
  var panel = el("section", "zy-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", TEXT.title);
  var header = el("header", "zy-header");
  var title = el("span", "zy-title", TEXT.title);
  var status = el("span", "zy-status", TEXT.connecting);
  var closer = el("button", "zy-close", "×");
  closer.type = "button";
  closer.setAttribute("aria-label", TEXT.close);
  header.append(title, status, closer);
  var banner = el("div", "zy-banner");
  banner.hidden = true;
  var log = el("ol", "zy-log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "zy-typing");
  typing.setAttribute("aria-label", "正在输入");
  typing.append(el("span"), el("span"), el("span"));
  typing.hidden = true;
  var form = el("form", "zy-composer");
  var mic = el("button", "zy-mic");
  mic.type = "button";
  // An icon rather than an emoji: not every system has an emoji font.
  mic.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" ' +
    'd="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"/></svg>';
  mic.title = TEXT.micStart;
  mic.setAttribute("aria-label", TEXT.micStart);
  var input = el("input", "zy-input");
  input.placeholder = TEXT.placeholder;
  input.maxLength = 2000;
  input.setAttribute("aria-label", TEXT.placeholder);
  var send = el("button", "zy-send", TEXT.send);
  send.type = "submit";
  form.append(mic, input, send);
  panel.append(header, banner, log, typing, form);
  if (mode === "floating") {
    root.append(launcher);
    panel.hidden = !load("open", false);
    launcher.hidden = !panel.hidden;
  } else {
    closer.hidden = true;
  }
  root.append(panel);
  target.append(root);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.hidden = open;
    save("open", open);
    if (open) input.focus();
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  closer.addEventListener("click", function () { setOpen(false); });

  /* ---- conversation ------------------------------------------------------------------- */
  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function render(message, live) {
    var item = el("li", "zy-msg zy-" + message.from);
    // A person on the support desk answering: their name above the bubble.
    if (message.agent) item.append(el("div", "zy-agent", "客服" + message.agent));
    item.append(el("div", "zy-bubble", message.text));
    var replies = message.quick_replies || [];
    if (replies.length) {
      var row = el("div", "zy-replies");
      replies.forEach(function (reply) {
        var button = el("button", "zy-reply", reply.title);
        button.type = "button";
        button.disabled = !live;
        button.addEventListener("click", function () {
          row.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
          say(reply.payload, reply.title);
        });
        row.append(button);
      });
      item.append(row);
    }
    log.append(item);
    scrollDown();
  }

  function remember(message) {
    history.push(message);
    history = history.slice(-MAX_HISTORY);
    save("history", history);
    render(message, message.from === "bot");
  }

  function notice(text) {
    var item = el("li", "zy-msg zy-notice", text);
    item.setAttribute("role", "alert");
    log.append(item);
    scrollDown();
  }

  var typingTimer = null;
  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollDown();
  }
  function hideTyping() {
    typing.hidden = true;
    clearTimeout(typingTimer);
  }

  function botMessage(data) {
    var text = data.text || (data.attachment && data.attachment.payload && data.attachment.payload.src) || "";
    var replies = (data.quick_replies || data.buttons || []).map(function (b) {
      return { title: b.title, payload: b.payload };
    });
    remember({ from: "bot", text: text, quick_replies: replies, agent: data.agent || null });
  }

  // Earlier conversation: quick replies of old messages stay visible but inactive.
  history.forEach(function (message) { render(message, false); });

  /* ---- socket.io ---------------------------------------------------------------------- */
  var socket = null;
  var confirmed = false;
  var pending = [];

  /* A user message as Rasa's socketio channel takes it; customData becomes its metadata. */
  function utterance(text) {
    var message = { message: text, session_id: sessionId };
    if (customerToken) message.customData = { customer_token: customerToken };
    return message;
  }

  function say(text, shown) {
    text = text.trim();
    if (!text) return;
    remember({ from: "user", text: shown || text });
    showTyping();
    if (confirmed && socket.connected) {
      socket.emit("user_uttered", utterance(text));
    } else {
      pending.push(text);
    }
  }

  function connect() {
    // `affinity` keeps this page on one Rasa replica behind nginx (deploy/nginx/zhiyin.conf);
    // a page's long polling must reach the process that opened it.
    var affinity = Math.random().toString(36).slice(2, 12);
    socket = window.io(server, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      reconnectionDelayMax: 4000,
      query: { affinity: affinity },
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: sessionId });
    });
    socket.on("session_confirm", function (id) {
      var confirmedId = typeof id === "object" && id ? id.session_id : id;
      if (confirmedId && confirmedId !== sessionId) {
        sessionId = confirmedId;
        save("session", sessionId);
      }
      confirmed = true;
      status.textContent = TEXT.online;
      root.classList.add("zy-online");
      banner.hidden = true;
      if (!history.length && !pending.length) {
        socket.emit("user_uttered", utterance("/greet"));
        showTyping();
      }
      pending.splice(0).forEach(function (text) {
        socket.emit("user_uttered", utterance(text));
      });
    });
    socket.on("bot_uttered", function (data) {
      hideTyping();
      botMessage(data || {});
    });
    socket.on("disconnect", function () {
      confirmed = false;
      root.classList.remove("zy-online");
      status.textContent = TEXT.connecting;
      banner.textContent = TEXT.reconnecting;
      banner.hidden = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    say(text);
  });

  /* ---- voice -------------------------------------------------------------------------- */
  var recorder = null;
  var recordingTimer = null;

  function setRecording(on) {
    mic.classList.toggle("zy-recording", on);
    mic.title = on ? TEXT.micStop : TEXT.micStart;
    mic.setAttribute("aria-label", mic.title);
    mic.setAttribute("aria-pressed", on ? "true" : "false");
    banner.textContent = TEXT.recording;
    banner.hidden = !on;
  }

  function reason(body, status) {
    if (status === 503) return TEXT.busy;
    var error = body && body.error ? String(body.error).split(" / ")[0] : "";
    if (status === 422 && error.indexOf("过长") >= 0) return TEXT.tooLong;
    return error ? "抱歉，" + error + "。" : TEXT.voiceFailed;
  }

  function upload(blob) {
    if (!blob.size) {
      notice(TEXT.emptyRecording);
      return;
    }
    var body = new FormData();
    body.append("sender", sessionId);
    if (customerToken) body.append("customer_token", customerToken);
    body.append("file", blob, "voice." + (blob.type.indexOf("ogg") >= 0 ? "ogg" : "webm"));
    showTyping();
    fetch(server + "/webhooks/voice/webhook", { method: "POST", body: body })
      .then(function (reply) {
        return reply.json().catch(function () { return {}; }).then(function (data) {
          hideTyping();
          if (!reply.ok) {
            notice(reason(data, reply.status));
            return;
          }
          if (data.transcript) remember({ from: "user", text: "🎤 " + data.transcript });
          (data.responses || []).forEach(botMessage);
        });
      })
      .catch(function () {
        hideTyping();
        notice(TEXT.network);
      });
  }

  function startRecording() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      notice(TEXT.noRecorder);
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", function (event) {
        if (event.data && event.data.size) chunks.push(event.data);
      });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        clearTimeout(recordingTimer);
        var type = recorder.mimeType || "audio/webm";
        recorder = null;
        setRecording(false);
        upload(new Blob(chunks, { type: type }));
      });
      recorder.start();
      setRecording(true);
      recordingTimer = setTimeout(function () { if (recorder) recorder.stop(); }, MAX_RECORDING_MS);
    }).catch(function (error) {
      notice(error && (error.name === "NotAllowedError" || error.name === "SecurityError") ? TEXT.micDenied : TEXT.micMissing);
    });
  }

  mic.addEventListener("click", function () {
    if (recorder) recorder.stop();
    else startRecording();
  });

  /* ---- start -------------------------------------------------------------------------- */
  if (window.io) {
    connect();
  } else {
    var client = document.createElement("script");
    client.src = server + "/chat/vendor/socket.io.min.js";
    client.onload = connect;
    client.onerror = function () { notice(TEXT.loadFailed); };
    document.head.append(client);
  }
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = server + "/chat/widget.css";
  document.head.append(css);
})();
