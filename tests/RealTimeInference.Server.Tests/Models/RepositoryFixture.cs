namespace RealTimeInference.Server.Tests.Models;

/// <summary>The server over a models folder of its own, made by the subclass and deleted with the fixture.</summary>
public abstract class RepositoryFixture : ServerFixture
{
    public string Repository { get; } = Path.Combine(Path.GetTempPath(), "rti-repository-" + Guid.NewGuid().ToString("N"));

    /// <summary>Settings beside the models folder.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> RepositorySettings => [];

    protected sealed override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Inference:ModelsPath", Repository), .. RepositorySettings];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(Repository))
        {
            Directory.Delete(Repository, recursive: true);
        }
    }
}
