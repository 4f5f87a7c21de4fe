// Where the shipped demo model lies: models/lethe-demo/ in the repository. Commands run from the
// repository (./lethe) or from an installed tool, so the folder is looked for above the current
// directory and above the program's own folder.
namespace Lethe.Experiments;

public static class ShippedModel
{
    public const string RelativePath = "models/lethe-demo";

    /// <summary>The shipped model's folder, or null when neither search finds it.</summary>
    public static string? TryFind()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, RelativePath);
                if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
            }
        return null;
    }

    public static string Find() => TryFind() ?? throw new LetheException(
        $"the shipped model ({RelativePath}/) was not found above {Directory.GetCurrentDirectory()} or above {AppContext.BaseDirectory}; " +
        "run from the Lethe repository, or give a model folder instead");
}
