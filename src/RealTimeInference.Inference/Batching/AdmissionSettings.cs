namespace RealTimeInference.Inference.Batching;

/// <summary>What a model's queue does when work arrives faster than the model scores it.</summary>
public enum AdmissionPolicy
{
    /// <summary>Queue up to the capacity, then refuse new work.</summary>
    Buffer,
    /// <summary>Like <see cref="Buffer"/>, but above a watermark admit only 1 request in N.</summary>
    Sample,
    /// <summary>When full, drop the oldest queued work of the least urgent class no more urgent than the newcomer.</summary>
    ShedOldest,
    /// <summary>When full, drop the newest queued work of the least urgent class no more urgent than the newcomer.</summary>
    ShedNewest,
}

/// <param name="Policy">What to do when the queue fills.</param>
/// <param name="SampleWatermarkRows">Queued rows above which <see cref="AdmissionPolicy.Sample"/> starts sampling.</param>
/// <param name="SampleKeepEvery">Above the watermark, admit 1 request in this many.</param>
public sealed record AdmissionSettings(AdmissionPolicy Policy, int SampleWatermarkRows = 0, int SampleKeepEvery = 1)
{
    public static AdmissionSettings Default { get; } = new(AdmissionPolicy.Buffer);

    private static readonly (string Name, AdmissionPolicy Policy)[] Names =
    [
        ("buffer", AdmissionPolicy.Buffer),
        ("sample", AdmissionPolicy.Sample),
        ("shed-oldest", AdmissionPolicy.ShedOldest),
        ("shed-newest", AdmissionPolicy.ShedNewest),
    ];

    /// <summary>The names model.json uses: buffer, sample, shed-oldest, shed-newest.</summary>
    public static IEnumerable<string> PolicyNames => Names.Select(n => n.Name);

    public static bool TryParsePolicy(string? name, out AdmissionPolicy policy)
    {
        foreach (var (candidate, value) in Names)
        {
            if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase))
            {
                policy = value;
                return true;
            }
        }

        policy = AdmissionPolicy.Buffer;
        return false;
    }
}
