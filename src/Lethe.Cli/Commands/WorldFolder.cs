// A repro's world: the folder the user gave with --world, or the demo world generated (seed 1) into a
// temporary folder that is deleted when the run ends, also when it fails.
using Lethe.Data.World;

namespace Lethe.Cli.Commands;

public sealed class WorldFolder : IDisposable
{
    private readonly string? temporary;
    public string Path { get; }

    private WorldFolder(string path, string? temporary) { Path = path; this.temporary = temporary; }

    public static WorldFolder GivenOrGenerated(string? given, WorldSize size)
    {
        if (given is not null) return new WorldFolder(given, null);
        string temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lethe-world-" + Guid.NewGuid().ToString("N"));
        WorldGenerator.Generate(temp, new WorldOptions(WorldOptions.DefaultSeed, size), force: true);
        return new WorldFolder(temp, temp);
    }

    public void Dispose()
    {
        if (temporary is not null && Directory.Exists(temporary)) Directory.Delete(temporary, true);
    }
}
