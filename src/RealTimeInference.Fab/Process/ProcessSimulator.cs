using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Fab.Process;

/// <summary>
/// One lot of one tool: the state it was processed in, its hidden expected yield (the surface at
/// those setpoints, before anomalies and noise) and what metrology measured.
/// </summary>
public sealed record Lot(int Tool, string ToolId, long Number, ProcessState State, double ExpectedYield, double MeasuredYield);

/// <summary>
/// Simulated tools running a continuous process. Each tool has recipe setpoints (which centre its
/// sensor readings), a chamber age that grows by a lot's wafers and returns to 0 at maintenance, and
/// a hidden yield response: a smooth peak whose optimum drifts as the chamber ages, plus metrology
/// noise, minus a penalty for the share of the lot run during a sensor anomaly episode. Lots are
/// measured <see cref="ProcessSimulatorOptions.MetrologyDelayLots"/> lots after they run.
/// Deterministic from the seed, and the random draws do not depend on the setpoints: runs that
/// set different setpoints see the same noise, anomalies and maintenance.
/// </summary>
public sealed class ProcessSimulator
{
    /// <summary>How far each setpoint may sit from the optimum before yield falls by a factor e^-1/2.</summary>
    public static readonly Setpoints Widths = new(10, 30, 6);

    // The recipe was written for a fresh chamber on an older process: the optimum sits off nominal
    // and moves further as deposits build up (a maintenance cycle's worth of drift).
    private static readonly Setpoints OptimumOffset = new(3, -8, 1.5);
    private static readonly Setpoints DriftPerCycle = new(6, 12, -2.5);

    private readonly ProcessSimulatorOptions _options;
    private readonly SensorSimulator _sensors;
    private readonly Random _noise;
    private readonly Tool[] _tools;
    private readonly LabelledReading[] _readings;
    private readonly Queue<Lot> _awaitingMetrology = new();
    private readonly double[] _sums;
    private readonly int[] _anomalous;
    private long _lots;

    public ProcessSimulator(ProcessSimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Tools, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReadingsPerLot, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WafersPerLot, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaintenanceWafers, options.WafersPerLot);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MetrologyDelayLots);
        ArgumentOutOfRangeException.ThrowIfNegative(options.YieldNoiseSd);
        _options = options;
        _sensors = new SensorSimulator(new SensorSimulatorOptions
        {
            Tools = options.Tools,
            SensorsPerTool = 1,
            AnomalyRate = options.AnomalyRate,
            Seed = options.Seed,
        });
        _readings = new LabelledReading[_sensors.ChannelCount];
        // Per tool: the sum and sum of squares of each sensor's offset from its setpoint, and its anomalous readings.
        _sums = new double[options.Tools * 6];
        _anomalous = new int[options.Tools];
        _noise = new Random(unchecked((options.Seed * 31) + 7));
        var hidden = new Random(unchecked((options.Seed * 31) + 11));
        _tools = new Tool[options.Tools];
        for (var t = 0; t < _tools.Length; t++)
        {
            _tools[t] = new Tool(
                SensorSimulator.ToolId(t),
                Peak: 0.94 + (0.02 * hidden.NextDouble()),
                Optimum: new Setpoints(
                    Setpoints.Nominal.Temperature + OptimumOffset.Temperature + Jitter(hidden, 0.5),
                    Setpoints.Nominal.Pressure + OptimumOffset.Pressure + Jitter(hidden, 1.5),
                    Setpoints.Nominal.Flow + OptimumOffset.Flow + Jitter(hidden, 0.3)),
                DriftScale: 0.8 + (0.4 * hidden.NextDouble()))
            {
                // Tools are not cleaned on the same day.
                Age = hidden.Next(options.MaintenanceWafers / options.WafersPerLot) * options.WafersPerLot,
                Setpoints = Setpoints.Nominal,
                LastSensors = SensorStats.Healthy,
            };
        }
    }

    public int ToolCount => _tools.Length;

    /// <summary>Lot steps run so far: every tool runs one lot a step.</summary>
    public long Lots => _lots;

    public string ToolId(int tool) => _tools[tool].Id;

    /// <summary>The tool's current setpoints, chamber age and its last lot's sensor statistics.</summary>
    public ProcessState State(int tool)
    {
        var t = _tools[tool];
        return new ProcessState(t.Setpoints, t.Age, t.LastSensors);
    }

    /// <summary>Sets the tool's recipe for its next lots. Safe ranges are the optimizer's business; the tool takes any finite recipe.</summary>
    public void Apply(int tool, Setpoints setpoints)
    {
        if (!setpoints.IsFinite)
        {
            throw new ArgumentOutOfRangeException(nameof(setpoints), "Setpoints must be finite.");
        }

        _tools[tool].Setpoints = setpoints;
        _sensors.SetMeans(tool, (float)setpoints.Temperature, (float)setpoints.Pressure, (float)setpoints.Flow);
    }

    /// <summary>The hidden surface: the yield a lot at <paramref name="setpoints"/> and <paramref name="chamberAge"/> would have with no anomaly and no noise.</summary>
    public double ExpectedYield(int tool, Setpoints setpoints, double chamberAge)
    {
        var optimum = Optimum(tool, chamberAge);
        var exponent = 0.0;
        for (var i = 0; i < Setpoints.Count; i++)
        {
            var z = (setpoints[i] - optimum[i]) / Widths[i];
            exponent += z * z;
        }

        return _tools[tool].Peak * Math.Exp(-0.5 * exponent);
    }

    /// <summary>The setpoints of the hidden optimum at <paramref name="chamberAge"/>: for tests and plots, never for the optimizer.</summary>
    public Setpoints Optimum(int tool, double chamberAge)
    {
        var t = _tools[tool];
        var cycles = chamberAge / _options.MaintenanceWafers * t.DriftScale;
        return new Setpoints(
            t.Optimum.Temperature + (DriftPerCycle.Temperature * cycles),
            t.Optimum.Pressure + (DriftPerCycle.Pressure * cycles),
            t.Optimum.Flow + (DriftPerCycle.Flow * cycles));
    }

    /// <summary>
    /// Runs one lot on every tool and returns the lots metrology measured in this step (those run
    /// <see cref="ProcessSimulatorOptions.MetrologyDelayLots"/> steps before), in tool order.
    /// </summary>
    public IReadOnlyList<Lot> Step()
    {
        var n = _options.ReadingsPerLot;
        var sums = _sums.AsSpan();
        var anomalous = _anomalous.AsSpan();
        sums.Clear();
        anomalous.Clear();
        for (var r = 0; r < n; r++)
        {
            _sensors.NextTick(_readings);
            for (var t = 0; t < _tools.Length; t++)
            {
                var reading = _readings[t];
                var setpoints = _tools[t].Setpoints;
                var dt = reading.Reading.Temperature - setpoints.Temperature;
                var dp = reading.Reading.Pressure - setpoints.Pressure;
                var df = reading.Reading.FlowRate - setpoints.Flow;
                var s = sums.Slice(t * 6, 6);
                s[0] += dt;
                s[1] += dt * dt;
                s[2] += dp;
                s[3] += dp * dp;
                s[4] += df;
                s[5] += df * df;
                anomalous[t] += reading.IsAnomaly ? 1 : 0;
            }
        }

        var number = ++_lots;
        for (var t = 0; t < _tools.Length; t++)
        {
            var tool = _tools[t];
            var s = sums.Slice(t * 6, 6);
            var sensors = new SensorStats(
                Mean(s[0], n), Sd(s[0], s[1], n), Mean(s[2], n), Sd(s[2], s[3], n), Mean(s[4], n), Sd(s[4], s[5], n));
            var state = new ProcessState(tool.Setpoints, tool.Age, sensors);
            var expected = ExpectedYield(t, tool.Setpoints, tool.Age);
            var measured = expected - (_options.AnomalyPenalty * anomalous[t] / n) + (_options.YieldNoiseSd * Normal());
            _awaitingMetrology.Enqueue(new Lot(t, tool.Id, number, state, expected, Math.Clamp(measured, 0, 1)));

            tool.LastSensors = sensors;
            tool.Age += _options.WafersPerLot;
            if (tool.Age >= _options.MaintenanceWafers)
            {
                tool.Age = 0;
            }
        }

        var measuredNow = new List<Lot>(_tools.Length);
        while (_awaitingMetrology.TryPeek(out var lot) && lot.Number <= number - _options.MetrologyDelayLots)
        {
            measuredNow.Add(_awaitingMetrology.Dequeue());
        }

        return measuredNow;
    }

    private static float Mean(double sum, int n) => (float)(sum / n);

    private static float Sd(double sum, double sumOfSquares, int n) =>
        (float)Math.Sqrt(Math.Max(0, (sumOfSquares - (sum * sum / n)) / (n - 1)));

    private static double Jitter(Random random, double amplitude) => amplitude * ((2 * random.NextDouble()) - 1);

    private double Normal()
    {
        var u1 = 1.0 - _noise.NextDouble();
        var u2 = _noise.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private sealed record Tool(string Id, double Peak, Setpoints Optimum, double DriftScale)
    {
        public double Age { get; set; }

        public Setpoints Setpoints { get; set; }

        public SensorStats LastSensors { get; set; }
    }
}
