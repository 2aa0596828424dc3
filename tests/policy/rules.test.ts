// The shared checks of policy/rules.ts on edge cases, and the pack's own files. policy/index.ts is read as text,
// never imported: constructing the PolicyPack would start its gRPC server and hang the run.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    functionRoleTrustProblems,
    isWildcardAction,
    keyProblems,
    lambdaRuntime,
    policies,
    providerAccounts,
    renderValue,
    rootAccountOf,
    runtimeProblems,
    statementProblems,
    tableRetentionProblems,
    trustProblems,
} from "../../policy/rules";
import { ROOT } from "../helpers/stack-files";
import { resourceArgs } from "./harness";

const doc = (...Statement: object[]) => ({ Version: "2012-10-17", Statement });
const identity = (d: unknown) => statementProblems({ kind: "identity", path: "policy", document: d });
const trust = (statement: object) => trustProblems({ kind: "trust", path: "assumeRolePolicy", document: doc(statement) });
const ROOT_111 = "arn:aws:iam::111111111111:root";

describe("policy rules: shared checks", () => {
    it("recognizes wildcard actions, case-insensitively, and nothing narrower", () => {
        for (const a of ["*", "*:*", "s3:*", "S3:*", "iam:*"]) expect(isWildcardAction(a), a).to.equal(true);
        for (const a of ["s3:Get*", "s3:GetObject", "kms:Decrypt"]) expect(isWildcardAction(a), a).to.equal(false);
    });

    it("flags wildcard-on-everything only in Allow statements", () => {
        expect(identity(doc({ Effect: "Deny", Action: "*", Resource: "*" }))).to.deep.equal([]);
        expect(identity(doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/*" }))).to.deep.equal([]);
        expect(identity(doc({ Effect: "Allow", Action: "xray:PutTraceSegments", Resource: "*" }))).to.deep.equal([]);
        expect(identity(doc({ Effect: "Allow", Action: "s3:*", NotResource: "arn:aws:s3:::b" }))).to.have.length(1);
        // a single Statement object, as JSON text
        expect(
            identity(JSON.stringify({ Version: "2012-10-17", Statement: { Effect: "Allow", Action: "*", Resource: "*" } })),
        ).to.have.length(1);
    });

    it("exempts only the exact AWS default key statement, for a known own account", () => {
        const statement = { Effect: "Allow", Principal: { AWS: ROOT_111 }, Action: "kms:*", Resource: "*" };
        const key = (s: object, ownAccounts: string[]) =>
            statementProblems({ kind: "key", path: "policy", document: doc(s) }, { ownAccounts });
        expect(key(statement, ["111111111111"])).to.deep.equal([]);
        expect(key(statement, []), "account unknown").to.have.length(1);
        expect(key({ ...statement, Principal: { AWS: [ROOT_111, "arn:aws:iam::111111111111:role/x"] } }, ["111111111111"])).to.have.length(
            1,
        );
        expect(key({ ...statement, Principal: "*" }, ["111111111111"])).to.have.length(1);
        // an identity policy never gets the exemption
        expect(identity(doc(statement))).to.have.length(1);
        // CloudFormation spelling of the stack's own account root
        const joined = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":root"]] };
        expect(key({ ...statement, Principal: { AWS: joined } }, ["${AWS::AccountId}"])).to.deep.equal([]);
    });

    it("reads account roots and CloudFormation intrinsics", () => {
        expect(rootAccountOf(ROOT_111)).to.equal("111111111111");
        expect(rootAccountOf("111111111111")).to.equal("111111111111");
        expect(rootAccountOf("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")).to.equal("${AWS::AccountId}");
        expect(rootAccountOf("arn:aws:iam::111111111111:role/root")).to.equal(undefined);
        expect(renderValue({ "Fn::GetAtt": ["T", "Arn"] })).to.equal("${T.Arn}");
        expect(renderValue({ "Fn::Sub": ["arn:${P}:x", { P: "aws" }] })).to.equal("arn:${P}:x");
        expect(renderValue({ "Fn::If": ["c", "*", "x"] })).to.equal("${?}");
    });

    it("accepts a trust of a root only when aws:PrincipalArn is pinned exactly, in that account", () => {
        const pinned = (Condition: object) => trust({ Effect: "Allow", Principal: { AWS: ROOT_111 }, Action: "sts:AssumeRole", Condition });
        expect(pinned({ ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/build" } })).to.deep.equal([]);
        expect(
            pinned({ StringEquals: { "AWS:PrincipalArn": ["arn:aws:iam::111111111111:role/a", "arn:aws:iam::111111111111:role/b"] } }),
        ).to.deep.equal([]);
        expect(pinned({ ArnEqualsIfExists: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/build" } })).to.have.length(1);
        expect(
            pinned({ ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/a", "arn:aws:iam::111111111111:role/?"] } }),
        ).to.have.length(1);
        expect(pinned({ StringEquals: { "aws:SourceAccount": "111111111111" } })).to.have.length(1);
        expect(trust({ Effect: "Allow", NotPrincipal: { AWS: ROOT_111 }, Action: "sts:AssumeRole" })).to.have.length(1);
        expect(trust({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" })).to.deep.equal([]);
        expect(
            trust({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111111111111:role/build" }, Action: "sts:AssumeRole" }),
        ).to.deep.equal([]);
        expect(trust({ Effect: "Deny", Principal: "*", Action: "sts:AssumeRole" })).to.deep.equal([]);
    });

    it("lets a bounded (function) role trust lambda.amazonaws.com with sts:AssumeRole, and nothing else", () => {
        const fnTrust = (statement: object) =>
            functionRoleTrustProblems({ kind: "trust", path: "assumeRolePolicy", document: doc(statement) });
        const lambda = { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" };
        expect(fnTrust(lambda)).to.deep.equal([]);
        expect(fnTrust({ ...lambda, Principal: { Service: ["lambda.amazonaws.com"] } })).to.deep.equal([]);
        expect(fnTrust({ ...lambda, Effect: "Deny", Principal: "*" }), "a Deny grants nothing").to.deep.equal([]);
        const [extra, ...more] = fnTrust({
            ...lambda,
            Principal: { Service: "lambda.amazonaws.com", AWS: "arn:aws:iam::333333333333:root" },
        });
        expect(more).to.deep.equal([]);
        expect(extra).to.include("trusts AWS:arn:aws:iam::333333333333:root");
        expect(fnTrust({ ...lambda, Principal: { Service: "ec2.amazonaws.com" } })[0]).to.include("Service:ec2.amazonaws.com");
        expect(fnTrust({ ...lambda, Principal: "*" })[0]).to.include("must name its principal");
        expect(fnTrust({ Effect: "Allow", NotPrincipal: { AWS: ROOT_111 }, Action: "sts:AssumeRole" })[0]).to.include(
            "must name its principal",
        );
        expect(fnTrust({ ...lambda, Principal: {} })[0]).to.include("trusts no principal");
        expect(fnTrust({ ...lambda, Action: ["sts:AssumeRole", "sts:TagSession"] })[0]).to.include("sts:AssumeRole only");
    });

    it("asks a template's table to be retained on both delete and replace", () => {
        expect(tableRetentionProblems({ deletionPolicy: "Retain", updateReplacePolicy: "Retain" })).to.deep.equal([]);
        expect(tableRetentionProblems({ deletionPolicy: "Retain" })[0]).to.include("got Retain / none");
        expect(tableRetentionProblems({ deletionPolicy: "Snapshot", updateReplacePolicy: "Retain" })[0]).to.include(
            "got Snapshot / Retain",
        );
        expect(tableRetentionProblems({})).to.have.length(1);
    });

    it("asks rotation only of keys that can rotate", () => {
        expect(keyProblems({ rotation: false })).to.have.length(1);
        expect(keyProblems({ rotation: "true" })).to.deep.equal([]);
        expect(keyProblems({ rotation: false, spec: "RSA_2048" })).to.deep.equal([]);
        expect(keyProblems({ rotation: false, origin: "EXTERNAL" })).to.deep.equal([]);
    });

    it("checks the runtime of zip functions only, against the allow-list", () => {
        expect(runtimeProblems({ packageType: "Image" })).to.deep.equal([]);
        expect(runtimeProblems({ runtime: "nodejs26.x" })[0]).to.include("not on the allowed list");
        expect(runtimeProblems({ runtime: "nodejs18.x" })[0]).to.include("deprecated");
        expect(runtimeProblems({ runtime: "python3.12" })).to.deep.equal([]);
    });

    it("takes allowedRuntimes from the policy config", () => {
        const fn = { type: "aws:lambda/function:Function", name: "f", id: "f", inputs: { runtime: "nodejs20.x" }, state: {} };
        const run = (config: Record<string, unknown>) => {
            const found: string[] = [];
            (lambdaRuntime.validateResource as Function)(resourceArgs({ name: "s", resources: [fn] }, fn, config), (m: string) =>
                found.push(m),
            );
            return found;
        };
        expect(run({})).to.have.length(1);
        expect(run({ allowedRuntimes: ["nodejs20.x"] })).to.deep.equal([]);
    });

    it("reads the provider's allowedAccountIds as a list or as JSON text", () => {
        expect(providerAccounts({ props: { allowedAccountIds: '["111111111111"]' } })).to.deep.equal(["111111111111"]);
        expect(providerAccounts({ props: { allowedAccountIds: ["222222222222"] } })).to.deep.equal(["222222222222"]);
        expect(providerAccounts(undefined)).to.deep.equal([]);
    });
});

describe("policy pack files", () => {
    const dir = path.join(ROOT, "policy");

    it("every rule is mandatory and uniquely named", () => {
        expect(policies.every((p) => p.enforcementLevel === "mandatory")).to.equal(true);
        expect(new Set(policies.map((p) => p.name)).size).to.equal(policies.length);
        expect(policies).to.have.length(12);
    });

    it("PulumiPolicy.yaml declares a nodejs pack and index.ts builds it from rules.ts", () => {
        const project = yaml.load(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8")) as Record<string, unknown>;
        expect(project.runtime).to.equal("nodejs");
        const index = fs.readFileSync(path.join(dir, "index.ts"), "utf8");
        expect(index).to.match(/import \{ policies \} from "\.\/rules";/);
        expect(index).to.match(/new PolicyPack\("serverless-cross-account-cicd", \{ policies \}\);/);
    });
});
