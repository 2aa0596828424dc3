/** Small statistics and formatting helpers for the benchmark (no dependencies). */

export function sorted(xs: readonly number[]): number[] {
    return [...xs].sort((a, b) => a - b);
}

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
    if (xs.length === 0) return NaN;
    const s = sorted(xs);
    const rank = (p / 100) * (s.length - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

/** Least-squares fit y = a + b·x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): { a: number; b: number; r2: number } {
    const n = xs.length;
    const mx = xs.reduce((s, x) => s + x, 0) / n;
    const my = ys.reduce((s, y) => s + y, 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) ** 2;
        syy += (ys[i] - my) ** 2;
    }
    const b = sxx === 0 ? 0 : sxy / sxx;
    const a = my - b * mx;
    const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
    return { a, b, r2 };
}

export const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : x >= 10 ? `${x.toFixed(0)} ms` : `${x.toFixed(2)} ms`);

export const kb = (bytes: number): string => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);

export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "n/a");

/** Monotonic clock in milliseconds. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Plain-text table with right-aligned numeric-looking columns. */
export function table(headers: string[], rows: string[][]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const numeric = /^[-+]?[\d.,]+(\s?(ms|s|KB|MB|×|%|req\/s))?$/;
    const fmt = (cells: string[]) =>
        cells
            .map((c, i) => (numeric.test(c) && i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    return [fmt(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}
