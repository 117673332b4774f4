using System.Text.Json;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>
/// How docker/Dockerfile's final stage starts the server: its <c>ENV KEY=VALUE</c> lines and its
/// <c>ENTRYPOINT</c> JSON array, read from the file so the tests start what the image starts.
/// </summary>
internal sealed record DockerfileRuntime(IReadOnlyDictionary<string, string> Environment, IReadOnlyList<string> Entrypoint, string WorkDir)
{
    public static DockerfileRuntime Read(string dockerfile)
    {
        var lines = File.ReadAllLines(dockerfile);
        var last = Array.FindLastIndex(lines, l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        string[]? entrypoint = null;
        var workDir = "/";
        foreach (var line in lines.Skip(last + 1).Select(l => l.Trim()))
        {
            if (line.StartsWith("ENV ", StringComparison.Ordinal))
            {
                var setting = line["ENV ".Length..].Trim();
                var equals = setting.IndexOf('=', StringComparison.Ordinal);
                Assert.True(equals > 0, "Not an `ENV KEY=VALUE` line: " + line);
                environment[setting[..equals]] = setting[(equals + 1)..];
            }
            else if (line.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))
            {
                entrypoint = JsonSerializer.Deserialize<string[]>(line["ENTRYPOINT ".Length..]);
            }
            else if (line.StartsWith("WORKDIR ", StringComparison.Ordinal))
            {
                workDir = line["WORKDIR ".Length..].Trim();
            }
        }

        Assert.True(entrypoint is { Length: > 0 }, "The Dockerfile's last stage has no ENTRYPOINT JSON array.");
        return new DockerfileRuntime(environment, entrypoint, workDir);
    }

    /// <summary>A path of the image's <see cref="WorkDir"/> (the publish output) mapped to <paramref name="appDir"/>.</summary>
    public string MapPath(string value, string appDir) =>
        value == WorkDir ? appDir
            : value.StartsWith(WorkDir + "/", StringComparison.Ordinal) ? Path.Combine(appDir, value[(WorkDir.Length + 1)..])
            : value;
}
