(function () {
  var root = document.getElementById("checklist");
  if (!root) return;
  var key = "lodestone-checklist:" + root.getAttribute("data-store");
  var boxes = Array.prototype.slice.call(root.querySelectorAll("input[type=checkbox]"));
  var state = {};
  try { state = JSON.parse(localStorage.getItem(key) || "{}") || {}; } catch (e) { state = {}; }
  function update() {
    var done = 0;
    boxes.forEach(function (b) {
      var li = b.closest(".check-item");
      if (b.checked) { done++; li.classList.add("done"); } else { li.classList.remove("done"); }
    });
    document.getElementById("progress-fill").style.width = (boxes.length ? done * 100 / boxes.length : 0) + "%";
    document.getElementById("progress-text").textContent = done + " of " + boxes.length + " done";
  }
  function save() {
    state = {};
    boxes.forEach(function (b) { if (b.checked) state[b.getAttribute("data-key")] = 1; });
    try { localStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* private mode: keep in memory */ }
  }
  boxes.forEach(function (b) {
    b.checked = !!state[b.getAttribute("data-key")];
    b.addEventListener("change", function () { save(); update(); });
  });
  document.getElementById("reset").addEventListener("click", function () {
    boxes.forEach(function (b) { b.checked = false; }); save(); update();
  });
  update();
})();
