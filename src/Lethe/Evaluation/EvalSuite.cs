// Task names, the reader and runner behind each, and the demo suite: where its files lie in a
// world folder (written by `lethe world generate`) and which score key each gives:
//   math              math/test.jsonl                    GSM8K format         accuracy
//   code              code/test.jsonl                    MBPP format          pass@1
//   comprehension.xx  comprehension/xx/test.jsonl        MLQA format          contains ([S1])
//                     for xx in en, de, es, ar, zh, vi, hi
//   general_mc        general_mc/test.jsonl              MMLU format          accuracy
//   sensitive_mc      sensitive/mc_test.jsonl            WMDP format          accuracy
//   concept_qa        concepts/test.jsonl                concept format       exact match
//   perplexity        general_text/test.txt              plain text           perplexity
// A real data set file can stand in for any task (--task NAME=PATH): the reader is picked from the
// task and the file (Data/Readers/DatasetReader). Few-shot examples are the first k items of the
// train split beside the test file: the same name with "test" replaced by "train" (or "dev", MMLU's
// few-shot split).
using Lethe.Data.Readers;
using Lethe.Evaluation.Code;
using Lethe.Evaluation.Tasks;

namespace Lethe.Evaluation;

/// <summary>How tasks are built: prompts, item limit, few-shot count, code execution settings.</summary>
public sealed record TaskSettings
{
    public EvalPrompts Prompts { get; init; } = EvalPrompts.Default;
    /// <summary>Evaluate only the first N items of each task (questions for concept QA, documents for perplexity).</summary>
    public int? Limit { get; init; }
    /// <summary>Few-shot examples per prompt, from the train split (0 = zero-shot).</summary>
    public int Shots { get; init; }
    public PythonRunOptions Python { get; init; } = new();
    public bool IncludeChallengeTests { get; init; }
}

public static class EvalSuite
{
    public const string Demo = "demo";
    public static readonly string[] Languages = { "en", "de", "es", "ar", "zh", "vi", "hi" };

    /// <summary>The demo suite's tasks and their files, relative to the world folder, in report order.</summary>
    public static IReadOnlyList<(string Name, string RelativePath)> DemoLayout { get; } =
        new (string, string)[] { ("math", "math/test.jsonl"), ("code", "code/test.jsonl") }
        .Concat(Languages.Select(l => ($"comprehension.{l}", $"comprehension/{l}/test.jsonl")))
        .Concat(new (string, string)[]
        {
            ("general_mc", "general_mc/test.jsonl"), ("sensitive_mc", "sensitive/mc_test.jsonl"),
            ("concept_qa", "concepts/test.jsonl"), ("perplexity", "general_text/test.txt"),
        }).ToArray();

    public const string TaskNameHelp = "math, code, comprehension or comprehension.LANG (e.g. comprehension.de), general_mc, sensitive_mc, concept_qa, perplexity";

    public static bool IsTaskName(string name) =>
        name is "math" or "code" or "comprehension" or "general_mc" or "sensitive_mc" or "concept_qa" or "perplexity"
        || (name.StartsWith("comprehension.", StringComparison.Ordinal) && name.Length > 14 && name[14..].All(char.IsAsciiLetterLower));

    /// <summary>
    /// The demo suite's (name, path) pairs found under dataDir; missing files are reported through
    /// onMissing and left out. validation: each task's validation split instead of its test split
    /// (validation.jsonl, sensitive/mc_validation.jsonl), for choices that must not see test scores;
    /// tasks without one (concept QA, perplexity) are then missing.
    /// </summary>
    public static List<(string Name, string Path)> DemoTasks(string dataDir, Action<string>? onMissing = null, bool validation = false)
    {
        if (!Directory.Exists(dataDir)) throw LetheException.About($"{dataDir}: world folder not found; generate one with `lethe world generate` or point world_dir at one", "world_dir");
        var found = new List<(string, string)>();
        foreach (var (name, relative) in DemoLayout)
        {
            string path = Path.Combine(dataDir, validation ? ValidationSplitOf(relative) : relative);
            if (File.Exists(path)) found.Add((name, path));
            else onMissing?.Invoke($"{name}: {path} not found, skipped");
        }
        if (found.Count == 0) throw new LetheException($"{dataDir}: none of the demo suite's files is there (expected e.g. {Path.Combine(dataDir, DemoLayout[0].RelativePath)}); is it a world folder?");
        return found;
    }

    /// <summary>Reads the file and builds the task. runner: created on first use (only code tasks need Python).</summary>
    public static EvalTask CreateTask(string name, string path, TaskSettings settings, Lazy<PythonRunner>? runner = null)
    {
        if (!IsTaskName(name)) throw new LetheException($"unknown task '{name}'; use one of {TaskNameHelp}");
        if (settings.Limit is < 0) throw LetheException.About($"limit must be ≥ 0, got {settings.Limit}", "limit");
        if (settings.Shots < 0) throw LetheException.About($"shots must be ≥ 0, got {settings.Shots}", "shots");
        List<T> Limit<T>(List<T> items) => settings.Limit is int n ? items.Take(n).ToList() : items;
        List<T> Shots<T>(Func<string, List<T>> read) => settings.Shots == 0 ? new List<T>() : read(TrainSplitOf(path)).Take(settings.Shots).ToList();
        var prompts = settings.Prompts;
        switch (name)
        {
            case "math":
                return new MathTask(name, Limit(DatasetReader.ReadMath(path)), Shots(DatasetReader.ReadMath), prompts);
            case "code":
                runner ??= new Lazy<PythonRunner>(() => new PythonRunner(settings.Python));
                var problems = Limit(DatasetReader.ReadCode(path));
                return new CodeTask(name, problems, runner.Value, Shots(DatasetReader.ReadCode), prompts) { IncludeChallengeTests = settings.IncludeChallengeTests };
            case "general_mc":
            case "sensitive_mc":
                return new MultipleChoiceTask(name, Limit(DatasetReader.ReadMultipleChoice(path)), Shots(p => DatasetReader.ReadMultipleChoice(p)), prompts);
            case "concept_qa":
                return new ConceptQaTask(name, DatasetReader.ReadConcepts(path), Shots(DatasetReader.ReadConcepts), prompts, settings.Limit);
            case "perplexity":
                return new PerplexityTask(name, Limit(DatasetReader.ReadText(path)));
            default: // comprehension[.lang]
                string language = name.Length > 14 ? name[14..] : "en";
                return new ComprehensionTask(name, language, Limit(DatasetReader.ReadComprehension(path)), Shots(DatasetReader.ReadComprehension), prompts);
        }
    }

    /// <summary>A demo-layout test file's validation file: the last "test" in its name → "validation".</summary>
    private static string ValidationSplitOf(string relative)
    {
        int at = relative.LastIndexOf("test", StringComparison.Ordinal);
        return relative[..at] + "validation" + relative[(at + 4)..];
    }

    /// <summary>The train split beside a test (or validation) file: "test" → "train" in the file name, else "test" → "dev".</summary>
    public static string TrainSplitOf(string testPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(testPath))!, file = Path.GetFileName(testPath);
        string split = file.Contains("validation", StringComparison.OrdinalIgnoreCase) ? "validation" : "test";
        int at = file.LastIndexOf(split, StringComparison.OrdinalIgnoreCase);
        var candidates = at < 0 ? new List<string>() : new[] { "train", "dev" }.Select(s => Path.Combine(dir, file[..at] + s + file[(at + split.Length)..])).ToList();
        foreach (var c in candidates) if (File.Exists(c)) return c;
        throw LetheException.About($"{testPath}: shots needs a train split beside the test file" +
            (candidates.Count > 0 ? $" (looked for {string.Join(" and ", candidates)})" : " (its name has no \"test\" to replace)") + "; use no shots or add the file", "shots");
    }

    /// <summary>Runs the tasks in order; makeProgress(task) gives each run its progress callback (and is disposed after).</summary>
    public static List<TaskResult> Run(EvalModel model, IReadOnlyList<EvalTask> tasks, Func<EvalTask, (Action<int> advance, IDisposable done)>? makeProgress = null, CancellationToken cancel = default)
    {
        var results = new List<TaskResult>();
        foreach (var task in tasks)
        {
            cancel.ThrowIfCancellationRequested();
            var progress = makeProgress?.Invoke(task);
            try { results.Add(task.Run(model, new TaskRunOptions { OnProgress = progress?.advance, Cancel = cancel })); }
            finally { progress?.done.Dispose(); }
        }
        return results;
    }
}
