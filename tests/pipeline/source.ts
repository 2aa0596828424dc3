/**
 * What a pipeline's Source action hands the rest of the pipeline: a committed tree (the output artifact) and the
 * source action's variables (CodeCommit / CodeStarSourceConnection: CommitId, CommitMessage, BranchName,
 * AuthorDate, CommitterDate, plus the repository's own, reference-variables.html). The rehearsal takes these from
 * the test; `gitSource` makes them from a commit of a local repository (`git archive`, so only what is committed,
 * as CodeCommit and CodeConnections deliver it).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export interface SourceRevision {
    /** the artifact's files */
    readonly directory: string;
    /** the source action's output variables */
    readonly variables: Record<string, string>;
    /** the revision builds see as CODEBUILD_RESOLVED_SOURCE_VERSION (default: variables.CommitId) */
    readonly revision?: string;
}

export function gitSource(args: {
    repository: string;
    /** default HEAD */
    ref?: string;
    /** an empty directory to extract the tree into */
    into: string;
    branch: string;
    /** e.g. RepositoryName (CodeCommit) or FullRepositoryName and ConnectionArn (CodeConnections) */
    repositoryVariables?: Record<string, string>;
}): SourceRevision {
    const git = (...a: string[]) => execFileSync("git", ["-C", args.repository, ...a], { encoding: "utf8", maxBuffer: 1 << 30 });
    const ref = args.ref ?? "HEAD";
    const [commitId, authorDate, committerDate, ...message] = git("log", "-1", "--format=%H%n%aI%n%cI%n%B", ref).split("\n");
    mkdirSync(args.into, { recursive: true });
    execFileSync("sh", [
        "-c",
        'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
        "git-source",
        args.repository,
        commitId,
        args.into,
    ]);
    return {
        directory: args.into,
        variables: {
            CommitId: commitId,
            CommitMessage: message.join("\n").trim(),
            BranchName: args.branch,
            AuthorDate: authorDate,
            CommitterDate: committerDate,
            ...args.repositoryVariables,
        },
    };
}
