// The mock workbench's own behaviour: Enter (without Shift) or the button sends the box's text.
(function () {
  "use strict";
  var sent = document.getElementById("sent");
  window.__sent = [];
  function send(box) {
    var text = box.tagName === "TEXTAREA" ? box.value : box.innerText;
    text = text.replace(/\s+$/, "");
    if (!text) return;
    window.__sent.push({ text: text, at: performance.now() });
    var li = document.createElement("li");
    li.textContent = text;
    sent.appendChild(li);
    if (box.tagName === "TEXTAREA") box.value = ""; else box.textContent = "";
  }
  [["reply", "send"], ["rich", "send-rich"]].forEach(function (ids) {
    var box = document.getElementById(ids[0]);
    box.addEventListener("keydown", function (e) {
      window.__lastKey = { key: e.key, keyCode: e.keyCode, trusted: e.isTrusted };
      if ((e.key === "Enter" || e.keyCode === 13) && !e.shiftKey) {
        e.preventDefault();
        send(box);
      }
    });
    document.getElementById(ids[1]).addEventListener("click", function () { send(box); });
  });
})();
