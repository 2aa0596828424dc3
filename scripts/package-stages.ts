/**
 * The Test stage's last step for the serverless deployer: `sls package` of serverless.yml once per stage the pipeline
 * deploys, into build/packages/<stage>/ — part of the Test stage's artifact beside the bundles in build/. The
 * packages carry placeholders for what only a target knows (its deployment bucket and permissions boundary); each
 * stage's Deploy build binds them to its target with the tools stack's deploy kit (deploy-kit/release.ts), which
 * refuses a release that breaks a rule. No credentials: the Test stage's role can reach no account, and `sls package`
 * needs none.
 *
 *   npm run package -- dev prod            (the pipeline: npm run package -- $PACKAGE_STAGES)
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { stageProblem } from "../components/identifiers";
import { PACKAGE_PARAMETERS, packageDirectory } from "../deploy-kit/release";

const ROOT = resolve(__dirname, "..");

/**
 * Packages each stage of the service in `serviceDir` (serverless.yml and the bundles in build/); returns the
 * directories written, `<outRoot>/build/packages/<stage>`.
 */
export function packageStages(stages: readonly string[], serviceDir: string = ROOT, outRoot: string = serviceDir): string[] {
    const problems = stages.map((s) => stageProblem("stage", s)).filter((p) => p !== undefined);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    return [...new Set(stages)].map((stage) => {
        const dir = join(outRoot, packageDirectory(stage));
        rmSync(dir, { recursive: true, force: true });
        const params = Object.entries(PACKAGE_PARAMETERS).map(([name, value]) => `--param=${name}=${value}`);
        execFileSync(join(ROOT, "node_modules", ".bin", "sls"), ["package", "--stage", stage, ...params, "--package", dir], {
            cwd: serviceDir,
            stdio: ["ignore", "inherit", "inherit"],
            env: { ...process.env, SLS_TELEMETRY_DISABLED: "1" },
        });
        return dir;
    });
}

if (require.main === module) {
    const stages = process.argv
        .slice(2)
        .flatMap((a) => a.split(/\s+/))
        .filter(Boolean);
    try {
        for (const dir of packageStages(stages)) console.log(`package-stages: wrote ${dir}`);
        if (stages.length === 0) console.log("package-stages: no stage to package (the pulumi deployer packages nothing)");
    } catch (error) {
        console.error(`package-stages: ERROR: ${(error as Error).message}`);
        process.exit(1);
    }
}
