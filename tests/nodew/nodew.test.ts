// ./nodew: uses the node on PATH when it is new enough, otherwise installs the pinned Node.js from the npm
// registry into its cache (once) and runs the command with it first on PATH. Fake `node`/`npm` stand in for
// the machine's tools, so no download happens here.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/stack-files";

const PINNED = readFileSync(join(ROOT, ".nvmrc"), "utf8").trim();

describe("nodew (Node.js 22 wrapper)", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "nodew-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function script(path: string, body: string) {
        writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
        chmodSync(path, 0o755);
    }

    /** A `node` on PATH that says it is version `major`, and an `npm` that "installs" a node printing `installed`. */
    function fakeTools(major: number) {
        const bin = join(dir, "bin");
        mkdirSync(bin);
        script(join(bin, "node"), `case "$1" in -p) echo ${major} ;; *) echo "system node $*" ;; esac`);
        script(
            join(bin, "npm"),
            [
                `echo "$*" >> "${dir}/npm.log"`,
                `prefix="$3"; pkg="\${@: -1}"; name="\${pkg%@*}"`,
                `mkdir -p "$prefix/node_modules/$name/bin"`,
                `printf '#!/usr/bin/env bash\\necho "installed node $*"\\n' > "$prefix/node_modules/$name/bin/node"`,
                `chmod +x "$prefix/node_modules/$name/bin/node"`,
            ].join("\n"),
        );
        return bin;
    }

    const nodew = (bin: string, args: string[]) =>
        spawnSync(join(ROOT, "nodew"), args, { env: { PATH: `${bin}:/usr/bin:/bin`, NODEW_CACHE: join(dir, "cache") }, encoding: "utf8" });

    it("pins the same Node.js as .nvmrc, which meets engines.node", () => {
        expect(readFileSync(join(ROOT, "nodew"), "utf8")).to.contain(`NODE_VERSION="\${NODEW_NODE_VERSION:-${PINNED}}"`);
        const engines = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node;
        expect(engines).to.equal(">=22");
        expect(Number(PINNED.split(".")[0])).to.be.at.least(22);
    });

    it("uses the node on PATH when it is new enough, installing nothing", () => {
        const r = nodew(fakeTools(22), ["node", "--version"]);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout.trim()).to.equal("system node --version");
        expect(existsSync(join(dir, "npm.log"))).to.equal(false);
    });

    it("installs the pinned Node.js once when the node on PATH is older, then runs the command with it", () => {
        const bin = fakeTools(20);
        const first = nodew(bin, ["node", "--version"]);
        expect(first.status, first.stderr).to.equal(0);
        expect(first.stdout.trim()).to.equal("installed node --version");
        expect(first.stderr).to.contain(`older than 22; installing`);
        const log = readFileSync(join(dir, "npm.log"), "utf8").trim().split("\n");
        expect(log).to.have.length(1);
        expect(log[0]).to.match(
            new RegExp(
                `^install --prefix ${join(dir, "cache")}/node-${PINNED.replace(/\./g, "\\.")} .*node-(linux|darwin)-(x64|arm64)@${PINNED.replace(/\./g, "\\.")}$`,
            ),
        );

        const second = nodew(bin, ["node", "--version"]);
        expect(second.stdout.trim()).to.equal("installed node --version");
        expect(readFileSync(join(dir, "npm.log"), "utf8").trim().split("\n"), "no second install").to.have.length(1);
    });

    it("fails with a clear message when the install does not produce a node", () => {
        const bin = fakeTools(18);
        script(join(bin, "npm"), "exit 0");
        const r = nodew(bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.match(/nodew: .*bin\/node missing after install/);
    });
});
