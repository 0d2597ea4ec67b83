// A line diff for showing a proposed policy text beside the one in force: the longest common
// subsequence of lines, then rows pairing what was removed on the left with what was added on
// the right. Presentation only; the server's own diff of adopted versions is the record.

export function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  // lengths[i][j]: the longest common subsequence of a[i:] and b[j:].
  const lengths = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { ops.push({ op: ' ', text: a[i] }); i += 1; j += 1; }
    else if (j < m && (i >= n || lengths[i][j + 1] >= lengths[i + 1][j])) { ops.push({ op: '+', text: b[j] }); j += 1; }
    else { ops.push({ op: '-', text: a[i] }); i += 1; }
  }
  return ops;
}

// Rows for a two-column view: [left, right, kind] with kind 'same', 'changed', 'removed' or
// 'added'. Runs of removals and additions are paired line by line.
export function sideBySide(before, after) {
  const rows = [];
  const ops = lineDiff(before, after);
  for (let k = 0; k < ops.length;) {
    if (ops[k].op === ' ') { rows.push([ops[k].text, ops[k].text, 'same']); k += 1; continue; }
    const removed = [];
    const added = [];
    while (k < ops.length && ops[k].op !== ' ') {
      (ops[k].op === '-' ? removed : added).push(ops[k].text);
      k += 1;
    }
    for (let r = 0; r < Math.max(removed.length, added.length); r += 1) {
      const left = removed[r];
      const right = added[r];
      rows.push([left ?? null, right ?? null, left !== undefined && right !== undefined ? 'changed' : left !== undefined ? 'removed' : 'added']);
    }
  }
  return rows;
}
