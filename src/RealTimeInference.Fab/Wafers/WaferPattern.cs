namespace RealTimeInference.Fab.Wafers;

/// <summary>The nine failure-pattern classes of the public WM-811K wafer-map data set.</summary>
public enum WaferPattern
{
    None,
    Center,
    Donut,
    EdgeLoc,
    EdgeRing,
    Loc,
    NearFull,
    Random,
    Scratch,
}

public static class WaferPatterns
{
    /// <summary>Every class, in the order of the model's class index (and of model.json's <c>classes</c>).</summary>
    public static IReadOnlyList<WaferPattern> All { get; } = Enum.GetValues<WaferPattern>();

    /// <summary>Wire names, by class index: none, center, donut, edge-loc, edge-ring, loc, near-full, random, scratch.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["none", "center", "donut", "edge-loc", "edge-ring", "loc", "near-full", "random", "scratch"];

    public static string Name(this WaferPattern pattern) => Names[(int)pattern];
}
