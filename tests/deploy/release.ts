/**
 * The Test stage's artifact for a Deploy action, as the tests build it: the bundles the Test stage built
 * (build/<fn>.zip, from scripts/build-functions.ts) and the stage's package from the Test stage's own step
 * (scripts/package-stages.ts, the pinned osls, once per process and stage). A new release is the same package
 * with a later artifact directory — what `sls package` of a later commit writes — and, when asked, changed code
 * (a release marker appended to the bundle) or an edited template.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_STATE, PACKAGE_TEMPLATE, packageDirectory } from "../../deploy-kit/release";
import { zipSingleFile } from "../../scripts/build-functions";
import { packageStages } from "../../scripts/package-stages";
import { ensureBundles } from "../helpers/shipped-stacks";
import { buildArtifacts, FUNCTION_ARTIFACTS } from "../helpers/sls-package";

export interface StagePackage {
    readonly template: any;
    readonly state: any;
}

const packages = new Map<string, StagePackage>();

/** The Test stage's package of `stage` (placeholders unbound), made once per process. */
export async function stagePackage(stage: string): Promise<StagePackage> {
    let found = packages.get(stage);
    if (!found) {
        await ensureBundles(); // serverless.yml names build/<fn>.zip as each function's artifact
        const out = mkdtempSync(join(tmpdir(), "stage-package-"));
        try {
            const [dir] = packageStages([stage], undefined, out);
            found = {
                template: JSON.parse(readFileSync(join(dir, PACKAGE_TEMPLATE), "utf8")),
                state: JSON.parse(readFileSync(join(dir, PACKAGE_STATE), "utf8")),
            };
        } finally {
            rmSync(out, { recursive: true, force: true });
        }
        packages.set(stage, found);
    }
    return found;
}

export interface ReleaseOptions {
    /** 1 is the package and bundles as built; n > 1 a later release with code that differs. */
    readonly release: number;
    /** Changes the (unbound) template before it is written, e.g. to add a resource. */
    readonly editTemplate?: (template: any) => void;
    /** Keep the code of release 1 (a package-only change). */
    readonly sameCode?: boolean;
}

/** Writes release `n` of `stage` as the Test stage's artifact into `workspaceDir`: build/<fn>.zip and build/packages/<stage>/. */
export async function writeRelease(workspaceDir: string, stage: string, options: ReleaseOptions): Promise<void> {
    const built = await buildArtifacts();
    mkdirSync(join(workspaceDir, "build"), { recursive: true });
    for (const fn of FUNCTION_ARTIFACTS) {
        const target = join(workspaceDir, "build", `${fn}.zip`);
        if (options.release === 1 || options.sameCode) copyFileSync(join(built, `${fn}.zip`), target);
        else {
            const code = Buffer.concat([readFileSync(join(built, fn, "index.js")), Buffer.from(`\n// release ${options.release}\n`)]);
            writeFileSync(target, zipSingleFile("index.js", code));
        }
    }
    const { template, state } = await stagePackage(stage);
    // The artifact directory is <prefix><ms>-<ISO time>: a later package has a later one.
    const directory: string = state.package.artifactDirectoryName;
    const stamp = /\/([0-9]+)-([^/]+)$/.exec(directory)!;
    const ms = Number(stamp[1]) + (options.release - 1) * 60_000;
    const later = directory.replace(`${stamp[1]}-${stamp[2]}`, `${ms}-${new Date(ms).toISOString()}`);
    const retime = (text: string) => text.split(directory).join(later);
    const newTemplate = JSON.parse(retime(JSON.stringify(template)));
    options.editTemplate?.(newTemplate);
    const dir = join(workspaceDir, packageDirectory(stage));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, PACKAGE_TEMPLATE), JSON.stringify(newTemplate, null, 2));
    writeFileSync(join(dir, PACKAGE_STATE), retime(JSON.stringify(state)));
}
