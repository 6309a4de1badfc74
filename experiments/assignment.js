/* Lodestone deterministic assignment (twin of experiments/assignment.py).
 * GrowthBook hash v2 over UTF-8 bytes + GrowthBook bucket ranges with normalised weights.
 * ES5: Math.imul is ES2015, so the FNV prime multiply is shifts-and-adds, then >>> 0.
 * Returns the variant index, or -1 when the unit is outside coverage or the config is bad. */
function lsAssign(seed, unitId, weights, coverage) {
  function fnv1a32(s) {
    var h = 0x811c9dc5, i, c, d;
    function step(b) {
      h ^= b;
      h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) >>> 0;
    }
    for (i = 0; i < s.length; i++) {
      c = s.charCodeAt(i);
      if (c < 0x80) {
        step(c);
      } else if (c < 0x800) {
        step(0xc0 | (c >> 6)); step(0x80 | (c & 63));
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length &&
                 (d = s.charCodeAt(i + 1)) >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        step(0xf0 | (c >> 18)); step(0x80 | ((c >> 12) & 63));
        step(0x80 | ((c >> 6) & 63)); step(0x80 | (c & 63));
      } else {
        step(0xe0 | (c >> 12)); step(0x80 | ((c >> 6) & 63)); step(0x80 | (c & 63));
      }
    }
    return h;
  }
  var n = (fnv1a32(String(fnv1a32(String(seed) + String(unitId)))) % 10000) / 10000;
  var total = 0, cumulative = 0, start, w, i;
  coverage = +coverage;
  if (!(coverage > 0)) coverage = 0; else if (coverage > 1) coverage = 1;
  if (!weights || !weights.length) return -1;
  for (i = 0; i < weights.length; i++) {
    w = +weights[i];
    if (!(w >= 0) || w === Infinity) return -1;
    total += w;
  }
  if (!(total > 0)) return -1;
  for (i = 0; i < weights.length; i++) {
    w = +weights[i] / total;
    start = cumulative;
    cumulative += w;
    if (n >= start && n < start + coverage * w) return i;
  }
  return -1;
}
