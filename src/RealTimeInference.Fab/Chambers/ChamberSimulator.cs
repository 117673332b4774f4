namespace RealTimeInference.Fab.Chambers;

/// <summary>One reading of one chamber: its context, every sensor's value, and the simulator's truth about it.</summary>
/// <param name="Timestamp">When it was taken.</param>
/// <param name="ToolId">The cluster tool.</param>
/// <param name="ChamberId">The chamber of the tool.</param>
/// <param name="Kind">The kind of chamber: its recipe and sensors.</param>
/// <param name="Step">The recipe's step.</param>
/// <param name="LotId">The lot of the wafer in the chamber.</param>
/// <param name="WaferId">The wafer, <c>W01</c> to <c>W25</c>.</param>
/// <param name="Values">Each sensor's value, in the order of the kind's sensors.</param>
/// <param name="Fault">The fault the chamber has (the label), or null when healthy.</param>
/// <param name="Episode">The fault episode's number in this simulator (from 1), 0 when healthy.</param>
/// <param name="FaultStarts">Whether this is the fault's first reading.</param>
public sealed record ChamberReading(
    DateTimeOffset Timestamp,
    string ToolId,
    string ChamberId,
    ChamberKind Kind,
    string Step,
    string LotId,
    string WaferId,
    float[] Values,
    ChamberFault? Fault,
    int Episode,
    bool FaultStarts)
{
    public bool IsFault => Fault is not null;

    /// <summary>The recipe the chamber runs.</summary>
    public string Recipe => Kind.Recipe;

    /// <summary>The chamber's sensor names, in <see cref="Values"/>' order.</summary>
    public IReadOnlyList<string> Sensors => Kind.Sensors;
}

/// <summary>
/// Deterministic readings of every chamber of the simulated cluster tools, one a tick: each chamber
/// runs its kind's recipe step by step, wafer after wafer, lots of <see cref="ChamberSimulatorOptions.WafersPerLot"/>;
/// a sensor's value is its step's mean, the chamber's own offset (a fixed fraction of the sensor's
/// spread, from the chamber's name: the same in training and serving, so each chamber's model learns
/// its own chamber) and noise; faults start at random, move their sensors and are labelled while they last.
/// </summary>
public sealed class ChamberSimulator
{
    private readonly ChamberSimulatorOptions _options;
    private readonly Chamber[] _chambers;
    private long _tick;
    private int _episodes;

    public ChamberSimulator(ChamberSimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Tools, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WafersPerLot, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Interval, TimeSpan.Zero);
        if (double.IsNaN(options.FaultRate) || options.FaultRate is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "FaultRate must be within [0, 1].");
        }

        _options = options;
        _chambers = [.. Enumerable.Range(0, options.Tools)
            .SelectMany(t => ChamberKind.ClusterTool.Select(c => (Tool: ToolId(t), c.Chamber, c.Kind)))
            .Select((c, i) => new Chamber(c.Tool, c.Chamber, c.Kind, new Random(unchecked((options.Seed * 7919) + i)), i))];
    }

    /// <summary>The name of cluster tool <paramref name="tool"/> (0-based).</summary>
    public static string ToolId(int tool) => $"etch-{tool + 1:D2}";

    /// <summary>Every chamber: tool, chamber and kind, in the order of a tick's readings.</summary>
    public IReadOnlyList<(string ToolId, string ChamberId, ChamberKind Kind)> Chambers => [.. _chambers.Select(c => (c.ToolId, c.ChamberId, c.Kind))];

    /// <summary>Readings per tick: one per chamber.</summary>
    public int ChamberCount => _chambers.Length;

    /// <summary>Writes one reading per chamber for the next tick into <paramref name="destination"/>.</summary>
    public void NextTick(Span<ChamberReading> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, _chambers.Length);
        var timestamp = _options.Start + (_options.Interval * _tick++);
        for (var i = 0; i < _chambers.Length; i++)
        {
            destination[i] = Next(_chambers[i], timestamp);
        }
    }

    /// <summary>The next <paramref name="ticks"/> readings of the chamber at <paramref name="index"/> of <see cref="Chambers"/>, the others advancing too.</summary>
    public IEnumerable<ChamberReading> Generate(int index, int ticks)
    {
        var buffer = new ChamberReading[_chambers.Length];
        for (var i = 0; i < ticks; i++)
        {
            NextTick(buffer);
            yield return buffer[index];
        }
    }

    private ChamberReading Next(Chamber chamber, DateTimeOffset timestamp)
    {
        var kind = chamber.Kind;
        var step = kind.Steps[chamber.Step];
        var random = chamber.Random;
        var starts = false;
        if (chamber.Fault is null && chamber.Cooldown == 0 && random.NextDouble() < _options.FaultRate)
        {
            (chamber.Fault, chamber.FaultAge, chamber.Episode, starts) = (kind.Faults[random.Next(kind.Faults.Count)], 0, ++_episodes, true);
        }
        else if (chamber.Cooldown > 0)
        {
            chamber.Cooldown--;
        }

        var values = new float[kind.Sensors.Count];
        for (var s = 0; s < values.Length; s++)
        {
            var (mean, sd) = step.Sensors[s];
            values[s] = mean + (chamber.Offsets[s] * sd) + (sd * Normal(random));
        }

        var fault = chamber.Fault;
        var episode = chamber.Episode;
        if (fault is not null)
        {
            var strength = fault.Ramp ? Math.Min(1f, (chamber.FaultAge + 1) / (fault.Ticks / 2f)) : 1f;
            foreach (var (sensor, shift) in fault.Moves)
            {
                values[sensor] += shift * strength * step.Sensors[sensor].Sd;
            }

            if (++chamber.FaultAge >= fault.Ticks)
            {
                (chamber.Fault, chamber.Episode, chamber.Cooldown) = (null, 0, _options.FaultCooldownTicks);
            }
        }

        var reading = new ChamberReading(
            timestamp, chamber.ToolId, chamber.ChamberId, kind, step.Name, $"{chamber.ToolId}{chamber.ChamberId}-{chamber.Lot:D4}", $"W{chamber.Wafer + 1:D2}",
            values, fault, episode, starts);
        chamber.Advance(_options.WafersPerLot);
        return reading;
    }

    /// <summary>A standard normal draw (Box–Muller); 1 - NextDouble() keeps the logarithm's argument in (0, 1].</summary>
    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    private sealed class Chamber
    {
        public Chamber(string toolId, string chamberId, ChamberKind kind, Random random, int index)
        {
            (ToolId, ChamberId, Kind, Random) = (toolId, chamberId, kind, random);
            // The chamber's identity, from its name alone: each sensor sits up to 1.5 of its spreads off nominal.
            var identity = new Random(StableHash($"{toolId}/{chamberId}"));
            Offsets = [.. kind.Sensors.Select(_ => (float)((identity.NextDouble() * 3) - 1.5))];
            // Chambers do not all start a wafer on the same tick.
            for (var i = 0; i < index * 7 % kind.WaferTicks; i++)
            {
                Advance(int.MaxValue);
            }
        }

        public string ToolId { get; }

        public string ChamberId { get; }

        public ChamberKind Kind { get; }

        public Random Random { get; }

        public float[] Offsets { get; }

        public int Step { get; private set; }

        public int Wafer { get; private set; }

        public int Lot { get; private set; } = 1;

        public ChamberFault? Fault { get; set; }

        public int FaultAge { get; set; }

        public int Episode { get; set; }

        public int Cooldown { get; set; }

        private int _stepTick;

        public void Advance(int wafersPerLot)
        {
            if (++_stepTick < Kind.Steps[Step].Ticks)
            {
                return;
            }

            _stepTick = 0;
            if (++Step < Kind.Steps.Count)
            {
                return;
            }

            Step = 0;
            if (++Wafer < wafersPerLot)
            {
                return;
            }

            (Wafer, Lot) = (0, Lot + 1);
        }

        /// <summary>FNV-1a: string.GetHashCode differs between processes.</summary>
        private static int StableHash(string text)
        {
            var hash = 2166136261u;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619u;
            }

            return unchecked((int)hash);
        }
    }
}
