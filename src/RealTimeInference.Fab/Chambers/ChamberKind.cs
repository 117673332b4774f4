namespace RealTimeInference.Fab.Chambers;

/// <summary>A recipe step: its name, how many ticks it lasts, and each sensor's mean and standard deviation in it.</summary>
public sealed record ChamberStep(string Name, int Ticks, IReadOnlyList<(float Mean, float Sd)> Sensors);

/// <summary>
/// A fault a chamber can develop: the sensors it moves and by how many of their standard deviations
/// at full strength, how long it lasts, and whether it ramps up over the first half of it or is there at once.
/// </summary>
public sealed record ChamberFault(string Name, IReadOnlyList<(int Sensor, float Shift)> Moves, int Ticks, bool Ramp);

/// <summary>A kind of process chamber: its sensors (status variables), the recipe it runs step by step, and the faults it develops.</summary>
public sealed record ChamberKind(string Name, IReadOnlyList<string> Sensors, string Recipe, IReadOnlyList<ChamberStep> Steps, IReadOnlyList<ChamberFault> Faults)
{
    /// <summary>A plasma etch chamber: RF, electrostatic chuck with helium backside cooling, throttle valve, gases, optical endpoint.</summary>
    public static ChamberKind Etch { get; } = new(
        "etch",
        ["rf_power", "reflected_power", "chuck_temp", "wall_temp", "he_flow", "he_pressure",
         "throttle_position", "chamber_pressure", "ar_flow", "o2_flow", "bias_voltage", "endpoint_signal"],
        "poly-etch",
        [
            new("stabilize", 10, [(0, 5), (0, 1), (60, 0.5f), (80, 0.5f), (6, 0.3f), (10, 0.2f), (40, 1), (20, 0.5f), (100, 1), (0, 0.2f), (0, 2), (1, 0.02f)]),
            new("main-etch", 30, [(1500, 15), (12, 2), (62, 0.5f), (80, 0.5f), (8, 0.3f), (10, 0.2f), (35, 1), (15, 0.4f), (100, 1), (10, 0.3f), (-350, 5), (0.8f, 0.02f)]),
            new("over-etch", 10, [(800, 10), (8, 1.5f), (61, 0.5f), (80, 0.5f), (8, 0.3f), (10, 0.2f), (38, 1), (18, 0.5f), (150, 1.5f), (20, 0.4f), (-200, 4), (0.3f, 0.02f)]),
            new("purge", 5, [(0, 5), (0, 1), (60, 0.5f), (80, 0.5f), (6, 0.3f), (10, 0.2f), (90, 1), (5, 0.3f), (200, 2), (0, 0.2f), (0, 2), (0.1f, 0.02f)]),
        ],
        [
            new("rf-match-drift", [(1, 6), (0, -3)], 40, Ramp: true),
            new("he-leak", [(4, 5), (5, -4), (2, 3)], 30, Ramp: false),
            new("throttle-valve-stuck", [(6, 5), (7, 4)], 25, Ramp: false),
            new("ar-mfc-drift", [(8, -5), (7, -2)], 40, Ramp: true),
        ]);

    /// <summary>A downstream plasma strip (ash) chamber: microwave source, heated pedestal, O2/N2/CF4 gases, optical emission.</summary>
    public static ChamberKind Strip { get; } = new(
        "strip",
        ["microwave_power", "reflected_power", "wafer_temp", "chuck_temp", "o2_flow", "n2_flow",
         "cf4_flow", "chamber_pressure", "throttle_position", "pin_height", "optical_emission", "exhaust_pressure"],
        "resist-strip",
        [
            new("heat", 8, [(0, 5), (0, 1), (150, 2), (250, 1), (0, 0.5f), (500, 3), (0, 0.1f), (1000, 5), (45, 1), (0, 0.05f), (0.05f, 0.01f), (700, 3)]),
            new("strip", 20, [(2500, 20), (25, 3), (250, 1.5f), (250, 1), (4000, 20), (400, 3), (20, 0.4f), (1200, 6), (40, 1), (0, 0.05f), (0.9f, 0.02f), (650, 3)]),
            new("cool", 8, [(0, 5), (0, 1), (180, 2), (250, 1), (0, 0.5f), (2000, 10), (0, 0.1f), (1500, 8), (60, 1), (5, 0.05f), (0.05f, 0.01f), (720, 3)]),
        ],
        [
            new("magnetron-sag", [(0, -5), (1, 4), (10, -3)], 30, Ramp: true),
            new("o2-mfc-fault", [(4, -6), (10, -2)], 25, Ramp: false),
            new("pedestal-overheat", [(3, 5), (2, 4)], 35, Ramp: true),
        ]);

    /// <summary>A tool's chambers: two etch chambers and a strip chamber, as an etch cluster tool has.</summary>
    public static IReadOnlyList<(string Chamber, ChamberKind Kind)> ClusterTool { get; } = [("A", Etch), ("B", Etch), ("C", Strip)];

    /// <summary>Ticks one wafer spends in the chamber: the recipe's steps end to end.</summary>
    public int WaferTicks => Steps.Sum(s => s.Ticks);
}
