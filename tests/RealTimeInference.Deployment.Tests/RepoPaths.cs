namespace RealTimeInference.Deployment.Tests;

/// <summary>Where the repository and its <c>docker/</c> folder are, from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Docker => Path.Combine(Root, "docker");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RealTimeInference.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("RealTimeInference.sln not found above " + AppContext.BaseDirectory);
    }
}
