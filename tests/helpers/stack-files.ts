import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CFN_SCHEMA } from "../../scripts/local-api";

export const ROOT = path.resolve(__dirname, "../..");

/** The `config:` map of a shipped `Pulumi.<stack>.yaml`, keys as written (`<project>:key`, `aws:region`). */
export function loadStackFile(file: string): Record<string, unknown> {
    const parsed = loadYaml<{ config?: Record<string, unknown> }>(file);
    if (!parsed?.config) throw new Error(`${file} has no config block`);
    return parsed.config;
}

/** A YAML file of the repository; CloudFormation short-form tags are read as their long form. */
export function loadYaml<T = any>(file: string): T {
    return yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8"), { schema: CFN_SCHEMA }) as T;
}

const STAGES_KEY = "serverless-cross-account-cicd:stages";

/**
 * The production stage entry exactly as the README's "Add a target account" tells a user to add it (its YAML block,
 * with `<organization>` as the tests' organization): the suites that need prod follow the README's own step.
 */
export function readmeProdStage(organization = "acme"): Record<string, unknown> {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Add a target account"));
    const block = /```yaml\n([\s\S]*?)```/.exec(section);
    if (!block) throw new Error('README.md: no yaml block under "## Add a target account"');
    const [entry] = yaml.load(block[1].replace(/<organization>/g, organization)) as Record<string, unknown>[];
    return entry;
}

/** The shipped tools stack file (one stage, dev: the blog's two accounts) with the README's production stage added. */
export function toolsStackWithProd(): Record<string, unknown> {
    const shipped = loadStackFile("Pulumi.tools.yaml");
    return { ...shipped, [STAGES_KEY]: [...(shipped[STAGES_KEY] as unknown[]), readmeProdStage()] };
}
