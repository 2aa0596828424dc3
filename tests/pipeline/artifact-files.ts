/**
 * Which files of a build make its output artifact, by the buildspec's `artifacts` rules (build-spec-ref.html,
 * artifacts/files, base-directory, discard-paths, exclude-paths): `files` are globs relative to the base
 * directory (`**` spans directories, `*` and `?` stay within one name); a `base-directory` glob selects
 * directories whose contents (not the directories themselves) are the artifact's root; `exclude-paths` are globs
 * relative to the base directory; `discard-paths: yes` flattens every file to the artifact's root.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ArtifactSpec } from "./buildspec";

/** A CodeBuild path glob as a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
    const pattern = glob.replace(/^\.\//, "");
    let source = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*" && pattern[i + 1] === "*") {
            const slash = pattern[i + 2] === "/";
            source += slash ? "(?:[^/]*/)*" : ".*";
            i += slash ? 2 : 1;
        } else if (c === "*") source += "[^/]*";
        else if (c === "?") source += "[^/]";
        else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return new RegExp(`^${source}$`);
}

/** Every file and directory under `root`, as relative `/`-separated paths. */
function walk(root: string, relative = ""): { files: string[]; dirs: string[] } {
    const found = { files: [] as string[], dirs: [] as string[] };
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
        const path = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.isSymbolicLink() && statSync(join(root, path), { throwIfNoEntry: false })?.isDirectory()) continue; // not followed
        if (entry.isDirectory()) {
            found.dirs.push(path);
            const below = walk(root, path);
            found.files.push(...below.files);
            found.dirs.push(...below.dirs);
        } else found.files.push(path);
    }
    return found;
}

export interface SelectedFile {
    /** path relative to the build's source directory */
    readonly from: string;
    /** path inside the artifact */
    readonly to: string;
}

export function selectArtifactFiles(sourceDir: string, spec: ArtifactSpec): SelectedFile[] {
    const tree = walk(sourceDir);
    const bases = spec.baseDirectory ? tree.dirs.filter((d) => globToRegExp(spec.baseDirectory!.replace(/\/+$/, "")).test(d)) : [""];
    const include = spec.files.map(globToRegExp);
    const exclude = spec.excludePaths.map(globToRegExp);
    const selected: SelectedFile[] = [];
    for (const base of bases) {
        const prefix = base ? `${base}/` : "";
        for (const file of tree.files) {
            if (!file.startsWith(prefix)) continue;
            const inBase = file.slice(prefix.length);
            if (!include.some((r) => r.test(inBase)) || exclude.some((r) => r.test(inBase))) continue;
            selected.push({ from: file, to: spec.discardPaths ? basename(inBase) : inBase });
        }
    }
    return selected;
}

/** Copies the selected files into `outputDir`. */
export function copyArtifactFiles(sourceDir: string, files: SelectedFile[], outputDir: string): void {
    mkdirSync(outputDir, { recursive: true });
    for (const { from, to } of files) {
        mkdirSync(dirname(join(outputDir, to)), { recursive: true });
        copyFileSync(join(sourceDir, from), join(outputDir, to));
    }
}
