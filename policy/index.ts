// The serverless-cross-account-cicd policy pack (Pulumi CrossGuard). All logic lives in rules.ts (tested by
// tests/policy/ without this file: constructing a PolicyPack starts the analyzer's gRPC server and never returns).
//
// Run it against a stack, from the repository root (after `./nodew npm ci`; nothing to install in policy/,
// whose package.json only gives the pack its version):
//   pulumi preview --policy-pack ./policy          (or: pulumi up --policy-pack ./policy)
// The CLI runs this file with ts-node from policy/ and resolves @pulumi/policy, @pulumi/pulumi, ts-node and
// typescript from the repository's node_modules by Node's upward lookup. See PulumiPolicy.yaml for what is
// and is not verified.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("serverless-cross-account-cicd", { policies });
