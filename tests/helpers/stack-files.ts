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
