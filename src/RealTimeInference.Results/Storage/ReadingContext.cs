namespace RealTimeInference.Results.Storage;

/// <summary>
/// Where and when in the process a reading was taken, as fault detection keys everything: the tool
/// (always), its chamber, the recipe and its step, the lot and the wafer.
/// </summary>
public sealed record ReadingContext(string ToolId, string? ChamberId = null, string? Recipe = null, string? Step = null, string? LotId = null, string? WaferId = null)
{
    /// <summary>The wire names of the context's fields, in order: query filters and summary groups use them too.</summary>
    public static IReadOnlyList<string> Fields { get; } = ["tool_id", "chamber_id", "recipe", "step", "lot_id", "wafer_id"];

    /// <summary>The value of the field named <paramref name="field"/> (one of <see cref="Fields"/>).</summary>
    public string? this[string field] => field switch
    {
        "tool_id" => ToolId,
        "chamber_id" => ChamberId,
        "recipe" => Recipe,
        "step" => Step,
        "lot_id" => LotId,
        "wafer_id" => WaferId,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "Not a context field."),
    };

    /// <summary>The context as <c>tool_id=…, chamber_id=…</c>, the fields given only: problems and logs name it so.</summary>
    public override string ToString() =>
        string.Join(", ", Fields.Select(f => (Field: f, Value: this[f])).Where(p => p.Value is not null).Select(p => $"{p.Field}={p.Value}"));
}
