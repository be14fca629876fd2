// Undo and redo of the studio's stickers: a list of snapshots, one per
// finished change (a drag, a field left, a keyframe added). Snapshots are
// JSON, so an undone state shares nothing with the live one.

const LIMIT = 200;

export class History {
  constructor() {
    this.past = []; // snapshots, the current state last
    this.future = []; // undone snapshots, the next redo last
  }

  /** reset forgets everything; state is the first snapshot. */
  reset(state) {
    this.past = [JSON.stringify(state)];
    this.future = [];
  }

  /** commit records state when it differs from the last one recorded. */
  commit(state) {
    const s = JSON.stringify(state);
    if (s === this.past[this.past.length - 1]) return false;
    this.past.push(s);
    if (this.past.length > LIMIT) this.past.shift();
    this.future = [];
    return true;
  }

  canUndo() { return this.past.length > 1; }

  canRedo() { return this.future.length > 0; }

  /** undo returns the state before the last change, or null. */
  undo() {
    if (!this.canUndo()) return null;
    this.future.push(this.past.pop());
    return JSON.parse(this.past[this.past.length - 1]);
  }

  /** redo returns the state the last undo left, or null. */
  redo() {
    if (!this.canRedo()) return null;
    this.past.push(this.future.pop());
    return JSON.parse(this.past[this.past.length - 1]);
  }
}
