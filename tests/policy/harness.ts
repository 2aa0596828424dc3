// Runs the policy pack's rules (policy/rules.ts) on stacks evaluated under Pulumi's mocks, the way the
// policy engine would: validateResource with each resource's inputs, validateStack with every resource's
// outputs (the mocks' recorded state), in the argument shapes of @pulumi/policy 1.21.
//
// What the real engine adds and the mocks do not record is rebuilt here: URNs, the resource's provider (props =
// the provider's inputs) and property dependencies (an input equal to another resource's ID depends on it —
// which is how `bucket: bucket.id` reaches the engine).

import type {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { policies as allPolicies } from "../../policy/rules";
import { MockCloud, PROJECT, RecordedResource } from "../helpers/pulumi-mocks";
import { shippedStacks } from "../helpers/shipped-stacks";

export type Policy = ResourceValidationPolicy | StackValidationPolicy;

export interface PolicyStack {
    readonly name: string;
    readonly resources: RecordedResource[];
}

export interface Violation {
    readonly policy: string;
    /** Logical name of the resource the violation is about (from the URN), or "(stack)". */
    readonly resource: string;
    readonly message: string;
}

class NotApplicable extends Error {}

const OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

export const urnOf = (stack: string, r: { type: string; name: string }) => `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`;
const nameOfUrn = (urn: string) => urn.split("::").pop() ?? urn;

const isType = (type: string) => (resourceClass: any) => resourceClass?.__pulumiType === type;
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

function providerOf(stack: PolicyStack, r: RecordedResource) {
    if (!r.type.startsWith("aws:")) return undefined;
    const provider = stack.resources.find((p) => p.type === "pulumi:providers:aws");
    return provider && { type: provider.type, props: provider.inputs, urn: urnOf(stack.name, provider), name: provider.name };
}

/** URNs each input depends on: an input equal to another resource's ID (as `bucket: bucket.id` is). */
export function propertyDependencies(stack: PolicyStack, r: RecordedResource): Record<string, string[]> {
    const deps: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(r.inputs)) {
        const urns = (Array.isArray(value) ? value : [value]).flatMap((v) =>
            typeof v === "string" ? stack.resources.filter((o) => o !== r && o.id === v).map((o) => urnOf(stack.name, o)) : [],
        );
        if (urns.length > 0) deps[key] = urns;
    }
    return deps;
}

/** `validateResource` arguments for one recorded resource: props are its inputs. */
export function resourceArgs(stack: PolicyStack, r: RecordedResource, config: Record<string, unknown> = {}): ResourceValidationArgs {
    return {
        type: r.type,
        props: r.inputs,
        urn: urnOf(stack.name, r),
        name: r.name,
        opts: OPTS,
        provider: providerOf(stack, r),
        stackTags: new Map(),
        isType: isType(r.type),
        asType: ((cls: any) => (isType(r.type)(cls) ? r.inputs : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config as T,
        notApplicable,
    };
}

/**
 * `validateStack` arguments: props are outputs (recorded state plus the ID). `wrap` lets a test present props
 * as the engine does in a preview (through @pulumi/policy's unknownCheckingProxy).
 */
export function stackArgs(
    stack: PolicyStack,
    wrap: (props: Record<string, any>, r: RecordedResource) => Record<string, any> = (p) => p,
): StackValidationArgs {
    const resources = stack.resources.map((r) => {
        const resource: PolicyResource = {
            type: r.type,
            props: wrap({ ...r.state, id: r.id }, r),
            urn: urnOf(stack.name, r),
            name: r.name,
            opts: OPTS,
            provider: providerOf(stack, r),
            dependencies: [],
            propertyDependencies: {},
            isType: isType(r.type),
            asType: ((cls: any) => (isType(r.type)(cls) ? resource.props : undefined)) as PolicyResource["asType"],
        };
        return resource;
    });
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    stack.resources.forEach((r, i) => {
        for (const [key, urns] of Object.entries(propertyDependencies(stack, r))) {
            const deps = urns.map((u) => byUrn.get(u)!);
            resources[i].propertyDependencies[key] = deps;
            resources[i].dependencies.push(...deps);
        }
    });
    return { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable };
}

/** Runs every policy on a stack, as the engine would, and returns the violations in a stable order. */
export async function evaluate(stack: PolicyStack, policies: readonly Policy[] = allPolicies): Promise<Violation[]> {
    const violations: Violation[] = [];
    for (const policy of policies) {
        if ("validateStack" in policy) {
            try {
                await policy.validateStack(stackArgs(stack), (message, urn) =>
                    violations.push({ policy: policy.name, resource: urn ? nameOfUrn(urn) : "(stack)", message }),
                );
            } catch (e) {
                if (!(e instanceof NotApplicable)) throw e;
            }
            continue;
        }
        const validations =
            policy.validateResource === undefined
                ? []
                : Array.isArray(policy.validateResource)
                  ? policy.validateResource
                  : [policy.validateResource];
        for (const r of stack.resources) {
            for (const validate of validations) {
                try {
                    await validate(resourceArgs(stack, r), (message) =>
                        violations.push({ policy: policy.name, resource: r.name, message }),
                    );
                } catch (e) {
                    if (!(e instanceof NotApplicable)) throw e;
                }
            }
        }
    }
    return violations;
}

// ---- the shipped stacks ------------------------------------------------------------------------------

const recorded = (name: string, cloud: MockCloud): PolicyStack => ({ name, resources: [...cloud.resources] });

export type ShippedPolicyStacks = { target: PolicyStack; tools: PolicyStack; api: PolicyStack; targetForPulumi: PolicyStack };

/** The shipped target (dev), tools and api stacks, and the dev target for the pulumi deployer, as policy inputs. */
export async function shippedPolicyStacks(): Promise<ShippedPolicyStacks> {
    const { target, tools, api, targetForPulumi } = await shippedStacks();
    return {
        target: recorded("target", target.cloud),
        tools: recorded("tools", tools.cloud),
        api: recorded("api", api.cloud),
        targetForPulumi: recorded("target (pulumi deployer)", targetForPulumi.cloud),
    };
}

// ---- bad variants ------------------------------------------------------------------------------------------

/** Deep copy of plain objects and arrays; anything else (assets, promises) is shared. */
export function clone<T>(value: T): T {
    if (Array.isArray(value)) return value.map(clone) as T;
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
    }
    return value;
}

/**
 * A copy of the stack in which the one resource of `type` whose name ends with `suffix` is changed by `edit`,
 * applied alike to its inputs and its recorded state (outputs).
 */
export function withEdit(stack: PolicyStack, type: string, suffix: string, edit: (props: Record<string, any>) => void): PolicyStack {
    const matches = stack.resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    if (matches.length !== 1) throw new Error(`withEdit: expected one ${type} *${suffix} in ${stack.name}, found ${matches.length}`);
    return {
        name: stack.name,
        resources: stack.resources.map((r) => {
            if (r !== matches[0]) return r;
            const inputs = clone(r.inputs);
            const state = clone(r.state);
            edit(inputs);
            edit(state);
            return { ...r, inputs, state };
        }),
    };
}

/** A copy of the stack without the one resource of `type` whose name ends with `suffix`. */
export function without(stack: PolicyStack, type: string, suffix: string): PolicyStack {
    const matches = stack.resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    if (matches.length !== 1) throw new Error(`without: expected one ${type} *${suffix} in ${stack.name}, found ${matches.length}`);
    return { name: stack.name, resources: stack.resources.filter((r) => r !== matches[0]) };
}

/** Edits a policy document property in place, keeping its representation (JSON text or object). */
export function editDocument(props: Record<string, any>, key: string, edit: (doc: { Statement: any[] }) => void): void {
    const wasText = typeof props[key] === "string";
    const doc = wasText ? JSON.parse(props[key]) : clone(props[key]);
    edit(doc);
    props[key] = wasText ? JSON.stringify(doc) : doc;
}
