/**
 * The buildspec runner on small buildspecs: phase order and shell state, failures and their transitions,
 * `finally`, exported variables, artifact rules, variable precedence, runtime versions, the build timeout.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { selectArtifactFiles } from "./artifact-files";
import { parseBuildspec } from "./buildspec";
import { BuildResult, runBuildspec } from "./buildspec-runner";

describe("pipeline rehearsal: buildspec runner", function () {
    this.timeout(20_000);
    let root: string;
    let source: string;

    beforeEach(() => {
        root = mkdtempSync(join(tmpdir(), "buildspec-runner-"));
        source = join(root, "src");
        mkdirSync(source);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    function files(tree: Record<string, string>) {
        for (const [path, content] of Object.entries(tree)) {
            mkdirSync(dirname(join(source, path)), { recursive: true });
            writeFileSync(join(source, path), content);
        }
    }

    function listTree(dir: string): string[] {
        return readdirSync(dir, { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => relative(dir, join(e.parentPath, e.name)))
            .sort();
    }

    function run(
        yaml: string,
        options: { overrides?: Record<string, string>; outputs?: string[]; timeoutMs?: number; environment?: Record<string, string> } = {},
    ): Promise<BuildResult> {
        return runBuildspec({
            buildspec: parseBuildspec(yaml, "test buildspec"),
            sourceDir: source,
            stateDir: join(root, "state"),
            environment: {
                PATH: process.env.PATH!,
                HOME: root,
                CODEBUILD_SRC_DIR: source,
                CODEBUILD_BUILD_ID: "test:1",
                ...options.environment,
            },
            overrides: options.overrides ?? {},
            outputs: (options.outputs ?? []).map((name) => ({ name, dir: join(root, "out", name) })),
            runtimes: { nodejs: ["22"] },
            timeoutMs: options.timeoutMs ?? 15_000,
        });
    }

    const phaseNames = (r: BuildResult) => r.phases.map((p) => `${p.name}:${p.status}`);
    const read = (path: string) => readFileSync(join(source, path), "utf8").trim();

    it("runs the phases in order, carrying variables, functions and the directory from command to command", async () => {
        mkdirSync(join(source, "sub"));
        const result = await run(`
version: 0.2
env:
  shell: bash
phases:
  install:
    commands:
      - cd sub
      - LOCAL=kept
      - export EXPORTED=also
      - greet() { echo "hello $1"; }
  pre_build:
    commands:
      - echo "$LOCAL $EXPORTED" > vars.txt
  build:
    commands:
      - greet build > greeting.txt
      - bash -c 'echo "child sees [$LOCAL] [$EXPORTED]"' > child.txt
  post_build:
    commands:
      - pwd > "$CODEBUILD_SRC_DIR/cwd.txt"
`);
        expect(phaseNames(result)).to.deep.equal(["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED"]);
        expect(result.status).to.equal("SUCCEEDED");
        expect(read("sub/vars.txt")).to.equal("kept also");
        expect(read("sub/greeting.txt")).to.equal("hello build");
        // a non-exported variable stays in the shell, as in bash
        expect(read("sub/child.txt")).to.equal("child sees [] [also]");
        expect(read("cwd.txt")).to.equal(join(source, "sub"));
        expect(result.log).to.match(/\[Container\] .* Running command cd sub/);
    });

    it("a failing build phase still runs post_build, with CODEBUILD_BUILD_SUCCEEDING=0, and fails the build", async () => {
        const result = await run(`
version: 0.2
env: { shell: bash }
phases:
  build:
    commands:
      - echo "before $CODEBUILD_BUILD_SUCCEEDING" > before.txt
      - exit 3
      - touch never.txt
  post_build:
    commands:
      - echo "after $CODEBUILD_BUILD_SUCCEEDING" > after.txt
`);
        expect(result.status).to.equal("FAILED");
        expect(phaseNames(result)).to.deep.equal(["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED", "POST_BUILD:SUCCEEDED"]);
        const build = result.phases[2];
        expect(build.message).to.equal("Error while executing command: exit 3. Reason: exit status 3");
        expect(build.commands.map((c) => c.exitCode)).to.deep.equal([0, 3]);
        expect(existsSync(join(source, "never.txt"))).to.equal(false);
        expect(read("before.txt")).to.equal("before 1");
        expect(read("after.txt")).to.equal("after 0");
    });

    it("runs finally after a failed command and fails the phase; skips the rest of commands", async () => {
        const result = await run(`
version: 0.2
env: { shell: bash }
phases:
  build:
    commands:
      - "false"
      - touch skipped.txt
    finally:
      - touch cleanup.txt
`);
        expect(result.phases[2]).to.include({ name: "BUILD", status: "FAILED" });
        expect(result.phases[2].commands.map((c) => `${c.block}:${c.command}`)).to.deep.equal([
            "commands:false",
            "finally:touch cleanup.txt",
        ]);
        expect(existsSync(join(source, "cleanup.txt"))).to.equal(true);
        expect(existsSync(join(source, "skipped.txt"))).to.equal(false);
    });

    it("a failed install ends the build unless on-failure is CONTINUE; ABORT in build skips post_build and artifacts", async () => {
        files({ "a.txt": "a" });
        const stops = await run(
            `
version: 0.2
env: { shell: bash }
phases:
  install:
    commands: ["false"]
  build:
    commands: [touch built.txt]
artifacts:
  files: ["**/*"]
`,
            { outputs: ["out"] },
        );
        expect(phaseNames(stops)).to.deep.equal(["INSTALL:FAILED"]);
        expect(stops.outputArtifactDir).to.equal(undefined);

        const continues = await run(`
version: 0.2
env: { shell: bash }
phases:
  install:
    on-failure: CONTINUE
    commands: ["false"]
  build:
    commands: [touch built.txt]
`);
        expect(continues.status).to.equal("FAILED");
        expect(phaseNames(continues)).to.deep.equal(["INSTALL:FAILED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED"]);
        expect(existsSync(join(source, "built.txt"))).to.equal(true);

        const aborts = await run(
            `
version: 0.2
env: { shell: bash }
phases:
  build:
    on-failure: ABORT
    commands: ["false"]
  post_build:
    commands: [touch post.txt]
artifacts:
  files: ["**/*"]
`,
            { outputs: ["out"] },
        );
        expect(phaseNames(aborts)).to.deep.equal(["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED"]);
        expect(existsSync(join(source, "post.txt"))).to.equal(false);
        expect(aborts.outputArtifactDir).to.equal(undefined);
    });

    it("a failed build without ABORT still uploads its artifacts (the build fails)", async () => {
        files({ "report.txt": "r" });
        const result = await run(
            `
version: 0.2
env: { shell: bash }
phases:
  build:
    commands: ["false"]
artifacts:
  files: [report.txt]
`,
            { outputs: ["out"] },
        );
        expect(result.status).to.equal("FAILED");
        expect(phaseNames(result)).to.include("UPLOAD_ARTIFACTS:SUCCEEDED");
        expect(listTree(result.outputArtifactDir!)).to.deep.equal(["report.txt"]);
    });

    it("exports the listed variables as the shell holds them after post_build; never AWS_* or unset ones", async () => {
        const result = await run(
            `
version: 0.2
env:
  shell: bash
  exported-variables: [API_URL, CHANGED, NEVER_SET, AWS_REGION]
phases:
  build:
    commands:
      - API_URL="$(echo https://api.example/dev)"
      - export API_URL
      - export CHANGED=first
  post_build:
    commands:
      - CHANGED=second
`,
            { environment: { AWS_REGION: "us-east-1" } },
        );
        expect(result.exportedVariables).to.deep.equal({ API_URL: "https://api.example/dev", CHANGED: "second" });
        expect(result.log).to.include("Skipping exported variable AWS_REGION: variables starting with AWS_ cannot be exported");
    });

    it("takes variables by precedence: buildspec < project/action overrides; CODEBUILD_* stay CodeBuild's", async () => {
        await run(
            `
version: 0.2
env:
  shell: bash
  variables:
    FROM_SPEC: spec
    BOTH: spec
    CODEBUILD_BUILD_ID: spoofed
phases:
  build:
    commands:
      - echo "$FROM_SPEC $BOTH $CODEBUILD_BUILD_ID" > env.txt
`,
            { overrides: { BOTH: "action" } },
        );
        expect(read("env.txt")).to.equal("spec action test:1");
    });

    it("selects artifact files: globs, exclude-paths, discard-paths, a base-directory glob; none matching fails the upload", async () => {
        files({
            "package.json": "{}",
            "src/a.ts": "a",
            "src/lib/b.ts": "b",
            "node_modules/x/index.js": "x",
            "build/one/index.js": "1",
            "build/one.zip": "z",
            "dist-1/f1.txt": "1",
            "dist-2/sub/f2.txt": "2",
        });
        const spec = (yaml: string) => parseBuildspec(`version: 0.2\nenv: { shell: bash }\nphases: {}\n${yaml}`, "t").artifacts!;
        const names = (yaml: string) =>
            selectArtifactFiles(source, spec(yaml))
                .map((f) => `${f.from}->${f.to}`)
                .sort();

        expect(names(`artifacts:\n  files: ["**/*"]\n  exclude-paths: ["node_modules/**/*"]`)).to.deep.equal([
            "build/one.zip->build/one.zip",
            "build/one/index.js->build/one/index.js",
            "dist-1/f1.txt->dist-1/f1.txt",
            "dist-2/sub/f2.txt->dist-2/sub/f2.txt",
            "package.json->package.json",
            "src/a.ts->src/a.ts",
            "src/lib/b.ts->src/lib/b.ts",
        ]);
        expect(names(`artifacts:\n  files: ["src/*"]`)).to.deep.equal(["src/a.ts->src/a.ts"]);
        expect(names(`artifacts:\n  files: ["build/*.zip"]\n  discard-paths: yes`)).to.deep.equal(["build/one.zip->one.zip"]);
        expect(names(`artifacts:\n  files: ["**/*"]\n  base-directory: "dist-*"\n  discard-paths: yes`)).to.deep.equal([
            "dist-1/f1.txt->f1.txt",
            "dist-2/sub/f2.txt->f2.txt",
        ]);
        expect(names(`artifacts:\n  files: ["sub/*"]\n  base-directory: dist-2`)).to.deep.equal(["dist-2/sub/f2.txt->sub/f2.txt"]);

        const none = await run(
            `
version: 0.2
env: { shell: bash }
phases: {}
artifacts:
  files: [missing.json]
`,
            { outputs: ["out"] },
        );
        expect(none.status).to.equal("FAILED");
        expect(none.phases.at(-1)).to.include({ name: "UPLOAD_ARTIFACTS", status: "FAILED", message: "no matching artifact paths found" });
        expect(none.log).to.include("Phase context status code: CLIENT_ERROR Message: no matching artifact paths found");
    });

    it("accepts runtime-versions the environment provides and fails install on others; records reports", async () => {
        const ok = await run(`
version: 0.2
env: { shell: bash }
phases:
  install:
    runtime-versions: { nodejs: 22 }
reports:
  mocha: { files: [reports/mocha.xml], file-format: JUNITXML }
`);
        expect(ok.status).to.equal("SUCCEEDED");
        expect(ok.runtimeVersions).to.deep.equal({ nodejs: "22" });
        expect(ok.reports).to.deep.equal({ mocha: { files: ["reports/mocha.xml"], "file-format": "JUNITXML" } });

        const wrong = await run(`
version: 0.2
env: { shell: bash }
phases:
  install:
    runtime-versions: { nodejs: 18 }
    commands: [touch installed.txt]
`);
        expect(phaseNames(wrong)).to.deep.equal(["INSTALL:FAILED"]);
        expect(wrong.phases[0].message).to.equal(
            "Unknown runtime version named '18' of nodejs. This build image has the following versions: 22",
        );
        expect(existsSync(join(source, "installed.txt"))).to.equal(false);
    });

    it("stops a build that runs past its timeout", async () => {
        const started = Date.now();
        const result = await run(
            `
version: 0.2
env: { shell: bash }
phases:
  build:
    commands: [sleep 20]
  post_build:
    commands: [touch post.txt]
`,
            { timeoutMs: 500 },
        );
        expect(Date.now() - started).to.be.below(5_000);
        expect(phaseNames(result)).to.deep.equal(["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED"]);
        expect(result.phases[2].message).to.equal("Build timed out after 1 s (the project's buildTimeout)");
        expect(existsSync(join(source, "post.txt"))).to.equal(false);
    });

    it("refuses buildspecs that would run differently here, saying what is not modelled", () => {
        expect(() => parseBuildspec("version: 0.2\nphases: {}", "inline")).to.throw(
            "YAML_FILE_ERROR in inline: env.shell must be bash (the only shell modelled); got undefined",
        );
        expect(() => parseBuildspec("version: 0.2\nenv: { shell: bash, parameter-store: { X: /p } }\nphases: {}", "inline")).to.throw(
            "YAML_FILE_ERROR in inline: env.parameter-store is not modelled by the pipeline rehearsal",
        );
        expect(() => parseBuildspec("version: 0.2\nenv: { shell: bash }\nphases: { deploy: { commands: [x] } }", "inline")).to.throw(
            "YAML_FILE_ERROR in inline: phases.deploy is not a phase (install, pre_build, build, post_build)",
        );
        expect(() => parseBuildspec("version: 0.1\nenv: { shell: bash }\nphases: {}", "inline")).to.throw("version must be 0.2");
    });
});
