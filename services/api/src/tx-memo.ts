/**
 * Reads a write transaction repeats for the objects of one apply: the definition, the default
 * cluster and the share-locked link targets that 50 instances of one definition all name. Inside
 * `applyAll` the transaction answers each from the first read that found a row (its row locks are
 * held until the transaction ends, so another transaction cannot change or delete it meanwhile),
 * until the apply writes an object of that kind, which forgets the kind's answers. "Not found" is
 * never kept (an object of the same apply may create it). Any other transaction reads as before:
 * only `applyAll` opens a memo, and it pauses it around an Application, whose expansion writes
 * objects of several kinds.
 */
type Memo = Map<string, Map<string, Promise<unknown>>>;

const memos = new WeakMap<object, Memo>();

/** Answers of `load` in `tx`, kept per kind and key while `tx`'s memo is open (`openTxMemo`). */
export function memoInTx<T>(tx: object, kind: string, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
  const memo = memos.get(tx);
  if (memo === undefined) return load();
  const answers = memo.get(kind) ?? new Map<string, Promise<unknown>>();
  memo.set(kind, answers);
  const kept = answers.get(key);
  if (kept !== undefined) return kept as Promise<T | undefined>;
  const loading = load();
  answers.set(key, loading);
  loading.then(
    (found) => {
      if (found === undefined) answers.delete(key);
    },
    () => answers.delete(key),
  );
  return loading;
}

export interface TxMemo {
  /** After a write of an object of this kind: its kind's answers are read again. */
  forget(kind: string): void;
  /** Reads go to the database and nothing is kept until `resume`; what was kept is gone. */
  pause(): void;
  resume(): void;
  close(): void;
}

export function openTxMemo(tx: object): TxMemo {
  const memo: TxMemo = {
    forget: (kind) => void memos.get(tx)?.delete(kind),
    pause: () => void memos.delete(tx),
    resume: () => void memos.set(tx, new Map()),
    close: () => void memos.delete(tx),
  };
  memo.resume();
  return memo;
}
