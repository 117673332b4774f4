using System.Buffers;
using SkiaSharp;

namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// The <c>"wafer"</c> sampling: fail densities per wafer area, measured the same way whatever the
/// die grid, the rendering, the grey levels, the margins or the compression of the image.
/// <list type="number">
/// <item>Working size: an image longer than <c>width</c> is averaged down to it (aspect kept); one
/// shorter than <c>width</c>/8 is enlarged by whole pixels, so each keeps its grey.</item>
/// <item>Grey levels, read from the image itself (<see cref="WaferLevels"/>): off-wafer is the darkest
/// mode; pass the darkest clear peak inside the wafer; fail the top of the brightest pixels.</item>
/// <item>The wafer's ellipse: the centroid and second moments of the pixels brighter than the
/// background, so margins, an off-centre wafer, non-square dies and partial edge dies do not move the rings.</item>
/// <item>Each pixel becomes, linearly, how much of it is wafer and how much of that has failed: a mean
/// of pixels is then the same fail density before and after a blur, a scaling or a JPEG that keeps
/// local means, and no pixel is thresholded. A pixel darker than a pass die beside a failing one is
/// the seam or rim of that die, so it counts as failed wafer.</item>
/// <item>Features, each a fail density over wafer area or a shape in wafer radii: <c>rings</c> ×
/// <c>sectors</c> polar cells turned so the strongest sector comes first, a radial profile finer
/// towards the edge, the wafer's density, the outer ring's arc, the clustering of an 8 × 8 map, the
/// strongest straight band through a 32 × 32 map, how the inside is drawn, and the hot spots of a
/// 64 × 64 map (how many, how large, how long and thin, how near the rim).</item>
/// </list>
/// </summary>
internal sealed class WaferSampler
{
    /// <summary>Radial profile bin edges, in wafer radii; the last bin holds everything beyond.</summary>
    private static readonly float[] ProfileEdges = [0.15f, 0.3f, 0.45f, 0.6f, 0.7f, 0.8f, 0.86f, 0.91f, 0.95f, 0.98f, 1.01f];

    /// <summary>Features after the polar cells and the radial profile: the wafer's fail density, then this many more.</summary>
    public const int ScalarCount = 24;

    private const int MapSide = 32, FineSide = 64, ClusterSide = 8, Angles = 16, LineBins = 40;
    private const int LookupSide = 256;
    private const float LookupExtent = 1.3f;
    private const int RadiusSteps = 1024;

    private static readonly SKSamplingOptions Downsampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>The radial profile's bin for a radius, in steps of 1 / <see cref="RadiusSteps"/> up to <see cref="LookupExtent"/>.</summary>
    private static readonly byte[] ProfileBinOfRadius =
        [.. Enumerable.Range(0, (int)(LookupExtent * RadiusSteps) + 2).Select(i => (byte)ProfileEdges.Count(edge => (i + 0.5f) / RadiusSteps >= edge))];

    /// <summary>For each 32 × 32 map cell and direction, the band across that direction its centre falls in (direction × bands + band).</summary>
    private static readonly short[] BandOfCell = [.. Enumerable.Range(0, MapSide * MapSide * Angles).Select(i =>
    {
        var (cell, angle) = (i / Angles, i % Angles);
        var t = (MapCoordinate(cell % MapSide) * MathF.Cos(angle * MathF.PI / Angles)) + (MapCoordinate(cell / MapSide) * MathF.Sin(angle * MathF.PI / Angles));
        return (short)((angle * LineBins) + Math.Clamp((int)((t + 1.42f) * (LineBins / (2 * 1.42f))), 0, LineBins - 1));
    })];

    private static readonly (float Cos, float Sin)[] Directions =
        [.. Enumerable.Range(0, Angles).Select(a => ((float)Math.Cos(a * Math.PI / Angles), (float)Math.Sin(a * Math.PI / Angles)))];

    private readonly int _rings, _sectors, _maxSide;
    private readonly bool _alignRotation;
    private readonly byte[] _sectorLookup;

    public WaferSampler(ImagePreprocessing settings)
    {
        (_rings, _sectors, _maxSide, _alignRotation) = (settings.Rings, settings.Sectors, Math.Max(settings.Width, settings.Height), settings.AlignRotation);
        _sectorLookup = new byte[LookupSide * LookupSide];
        for (var y = 0; y < LookupSide; y++)
        {
            for (var x = 0; x < LookupSide; x++)
            {
                var angle = Math.Atan2(Coordinate(y), Coordinate(x));
                angle = angle < 0 ? angle + (2 * Math.PI) : angle;
                _sectorLookup[(y * LookupSide) + x] = (byte)Math.Min(_sectors - 1, (int)(angle / (2 * Math.PI) * _sectors));
            }
        }

        static double Coordinate(int i) => (((i + 0.5) / LookupSide * 2) - 1) * LookupExtent;
    }

    /// <summary>Floats per image.</summary>
    public static int Length(int rings, int sectors) => (rings * sectors) + ProfileEdges.Length + 1 + 1 + ScalarCount;

    /// <summary>Writes the image's features; answers whether it is a wafer map at all (<see cref="WaferCheck"/>), the features being meaningless when not.</summary>
    public WaferCheck Sample(SKBitmap decoded, Span<float> destination)
    {
        var longest = Math.Max(decoded.Width, decoded.Height);
        if (longest <= _maxSide)
        {
            // Small maps (one pixel a die) are enlarged by whole pixels, so every pixel keeps its grey.
            var repeat = Math.Max(1, (int)Math.Ceiling(_maxSide / 8.0 / longest));
            return Sample(decoded.GetPixelSpan(), decoded.Width, decoded.Height, decoded.RowBytes, repeat, destination);
        }

        var factor = (double)_maxSide / longest;
        var info = new SKImageInfo(
            Math.Max(1, (int)Math.Round(decoded.Width * factor)), Math.Max(1, (int)Math.Round(decoded.Height * factor)), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var resized = decoded.Resize(info, Downsampling);
        return Sample(resized.GetPixelSpan(), resized.Width, resized.Height, resized.RowBytes, 1, destination);
    }

    private WaferCheck Sample(ReadOnlySpan<byte> rgba, int width, int height, int rowBytes, int repeat, Span<float> destination)
    {
        var (workingWidth, workingHeight) = (width * repeat, height * repeat);
        var count = workingWidth * workingHeight;
        var luma = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            Span<int> histogram = stackalloc int[256];
            for (var y = 0; y < height; y++)
            {
                var row = rgba.Slice(y * rowBytes, width * 4);
                var target = luma.AsSpan(y * repeat * workingWidth, workingWidth);
                for (var x = 0; x < width; x++)
                {
                    var level = ImagePreprocessor.Luma(row[x * 4], row[(x * 4) + 1], row[(x * 4) + 2]);
                    if (repeat == 1)
                    {
                        target[x] = level;
                    }
                    else
                    {
                        target.Slice(x * repeat, repeat).Fill(level);
                    }

                    histogram[level]++;
                }

                for (var dy = 1; dy < repeat; dy++)
                {
                    target.CopyTo(luma.AsSpan(((y * repeat) + dy) * workingWidth, workingWidth));
                }
            }

            if (repeat > 1)
            {
                for (var level = 0; level < 256; level++)
                {
                    histogram[level] *= repeat * repeat;
                }
            }

            var pixels = luma.AsSpan(0, count);
            var off = WaferLevels.OffLevel(histogram);
            var ellipse = Ellipse(pixels, workingWidth, workingHeight, WaferLevels.WaferThreshold(off));
            Span<int> interior = stackalloc int[256];
            InteriorHistogram(pixels, workingWidth, workingHeight, ellipse, WaferLevels.WaferThreshold(off), interior);
            var levels = WaferLevels.Estimate(histogram, off, interior);
            Features(pixels, workingWidth, workingHeight, levels, ellipse, destination);
            return WaferCheck.Of(histogram, count, pixels, workingWidth, workingHeight, ellipse, levels, WaferLevels.WaferThreshold(off));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(luma);
        }
    }

    internal readonly record struct WaferEllipse(double CentreX, double CentreY, double RadiusX, double RadiusY);

    /// <summary>A filled ellipse of semi-axes a, b has standard deviations a/2 and b/2: the wafer from its pixels' moments.</summary>
    private static WaferEllipse Ellipse(ReadOnlySpan<byte> luma, int width, int height, int threshold)
    {
        long mass = 0, sumX = 0, sumY = 0, sumXx = 0, sumYy = 0;
        for (var y = 0; y < height; y++)
        {
            long onRow = 0, sumRowX = 0, sumRowXx = 0;
            var row = luma.Slice(y * width, width);
            for (var x = 0; x < width; x++)
            {
                if (row[x] > threshold)
                {
                    onRow++;
                    sumRowX += x;
                    sumRowXx += (long)x * x;
                }
            }

            mass += onRow;
            sumX += sumRowX;
            sumXx += sumRowXx;
            sumY += onRow * y;
            sumYy += onRow * y * y;
        }

        if (mass < 4)
        {
            return new WaferEllipse(width / 2.0, height / 2.0, width / 2.0, height / 2.0);
        }

        // Pixel centres sit at +0.5; a pixel's own width adds 1/12 to each variance.
        var (meanX, meanY) = ((double)sumX / mass, (double)sumY / mass);
        var radiusX = 2 * Math.Sqrt(((double)sumXx / mass) - (meanX * meanX) + (1.0 / 12));
        var radiusY = 2 * Math.Sqrt(((double)sumYy / mass) - (meanY * meanY) + (1.0 / 12));
        return new WaferEllipse(meanX + 0.5, meanY + 0.5, radiusX, radiusY);
    }

    /// <summary>Grey levels of the wafer pixels well inside the edge (within 0.8 radii), where no pixel mixes wafer and background.</summary>
    private static void InteriorHistogram(ReadOnlySpan<byte> luma, int width, int height, WaferEllipse ellipse, int threshold, Span<int> histogram)
    {
        var (inverseX, inverseY) = ((float)(1 / ellipse.RadiusX), (float)(1 / ellipse.RadiusY));
        for (var y = 0; y < height; y++)
        {
            var v = (float)(y + 0.5 - ellipse.CentreY) * inverseY;
            var room = 0.64f - (v * v);
            if (room <= 0)
            {
                continue;
            }

            var row = luma.Slice(y * width, width);
            for (var x = 0; x < row.Length; x++)
            {
                var u = (float)(x + 0.5 - ellipse.CentreX) * inverseX;
                if (row[x] > threshold && u * u < room)
                {
                    histogram[row[x]]++;
                }
            }
        }
    }

    private void Features(ReadOnlySpan<byte> luma, int width, int height, WaferLevels levels, WaferEllipse ellipse, Span<float> destination)
    {
        // Each grey level as how much of a pixel is wafer (0–1), and that times how much of it has failed.
        // Below the pass level a pixel is part wafer, part background (a die's edge, the seams between
        // dies): no fail at all, never a negative one.
        Span<float> waferOf = stackalloc float[256];
        Span<float> failedOf = stackalloc float[256];
        for (var level = 0; level < 256; level++)
        {
            waferOf[level] = Math.Clamp((level - levels.Off) / (levels.Pass - levels.Off), 0f, 1f);
            failedOf[level] = waferOf[level] * Math.Clamp((level - levels.Pass) / (levels.Fail - levels.Pass), 0f, 1.25f);
        }

        var cells = _rings * _sectors;
        var profileBins = ProfileEdges.Length + 1;
        Span<float> cellMass = stackalloc float[cells];
        Span<float> cellFailed = stackalloc float[cells];
        Span<float> profileMass = stackalloc float[profileBins];
        Span<float> profileFailed = stackalloc float[profileBins];
        Span<float> fineMass = stackalloc float[FineSide * FineSide];
        Span<float> fineFailed = stackalloc float[FineSide * FineSide];
        var (inverseX, inverseY) = ((float)(1 / ellipse.RadiusX), (float)(1 / ellipse.RadiusY));
        var seamFrom = (int)MathF.Ceiling(levels.Off + (0.15f * (levels.Pass - levels.Off)));
        var seamTo = (int)(levels.Pass - 12);
        var failing = (int)(levels.Pass + (0.6f * (levels.Fail - levels.Pass)));
        const float lookupScale = LookupSide / (2 * LookupExtent);

        // What depends on the column alone, once per image: the normalised coordinate, its sector-lookup column and its map column.
        Span<float> us = stackalloc float[width];
        Span<int> lookupColumns = stackalloc int[width];
        Span<int> mapColumns = stackalloc int[width];
        for (var x = 0; x < width; x++)
        {
            us[x] = (float)((x + 0.5 - ellipse.CentreX) * inverseX);
            lookupColumns[x] = Math.Clamp((int)((us[x] + LookupExtent) * lookupScale), 0, LookupSide - 1);
            mapColumns[x] = Math.Clamp((int)((us[x] + 1) * (FineSide / 2f)), 0, FineSide - 1);
        }

        for (var y = 0; y < height; y++)
        {
            var v = (float)((y + 0.5 - ellipse.CentreY) * inverseY);
            var vSquared = v * v;
            var lookupRow = Math.Clamp((int)((v + LookupExtent) * lookupScale), 0, LookupSide - 1) * LookupSide;
            var mapRow = Math.Clamp((int)((v + 1) * (FineSide / 2f)), 0, FineSide - 1) * FineSide;
            var row = luma.Slice(y * width, width);
            for (var x = 0; x < row.Length; x++)
            {
                var level = row[x];
                var (m, f) = (waferOf[level], failedOf[level]);
                if (m == 0)
                {
                    continue;
                }

                if (level >= seamFrom && level < seamTo && NextToFail(luma, width, height, x, y, failing))
                {
                    // Darker than a passing die yet beside a failing one: the seam or edge of a failing die
                    // mixed with background, so the part that is wafer has failed.
                    m = (level - levels.Off) / (levels.Fail - levels.Off);
                    f = m;
                }

                var u = us[x];
                var r = MathF.Sqrt((u * u) + vSquared);
                if (r > LookupExtent)
                {
                    continue;
                }

                var cell = (Math.Min(_rings - 1, (int)(r * _rings)) * _sectors) + _sectorLookup[lookupRow + lookupColumns[x]];
                cellMass[cell] += m;
                cellFailed[cell] += f;
                var bin = ProfileBinOfRadius[(int)(r * RadiusSteps)];
                profileMass[bin] += m;
                profileFailed[bin] += f;
                var mapCell = mapRow + mapColumns[x];
                fineMass[mapCell] += m;
                fineFailed[mapCell] += f;
            }
        }

        Span<float> mapMass = stackalloc float[MapSide * MapSide];
        Span<float> mapFailed = stackalloc float[MapSide * MapSide];
        for (var i = 0; i < fineMass.Length; i++)
        {
            var coarse = (((i / FineSide) / 2) * MapSide) + ((i % FineSide) / 2);
            mapMass[coarse] += fineMass[i];
            mapFailed[coarse] += fineFailed[i];
        }

        var totalMass = Sum(profileMass);
        var global = totalMass > 0 ? Sum(profileFailed) / totalMass : 0;
        var polar = destination[..cells];
        for (var c = 0; c < cells; c++)
        {
            polar[c] = Density(cellFailed[c], cellMass[c], global);
        }

        if (_alignRotation)
        {
            AlignSectors(polar, _sectors);
        }

        var profile = destination.Slice(cells, profileBins);
        for (var b = 0; b < profileBins; b++)
        {
            profile[b] = Density(profileFailed[b], profileMass[b], global);
        }

        var scalars = destination.Slice(cells + profileBins, ScalarCount + 1);
        scalars[0] = global;
        OuterArc(polar, _sectors, global, scalars.Slice(1, 3));
        Clusters(mapMass, mapFailed, global, scalars.Slice(4, 4));
        Line(mapMass, mapFailed, global, totalMass, scalars.Slice(8, 7));
        scalars[15] = levels.Purity;
        scalars[16] = levels.Spread;
        HotSpots(fineMass, fineFailed, global, totalMass, scalars.Slice(17, 8));
    }

    private static bool NextToFail(ReadOnlySpan<byte> luma, int width, int height, int x, int y, int failing)
    {
        var i = (y * width) + x;
        return (x > 0 && luma[i - 1] >= failing)
            || (x + 1 < width && luma[i + 1] >= failing)
            || (y > 0 && luma[i - width] >= failing)
            || (y + 1 < height && luma[i + width] >= failing);
    }

    /// <summary>Turns every ring (of <paramref name="sectors"/> cells) so the sector with the largest sum over the rings comes first.</summary>
    public static void AlignSectors(Span<float> polar, int sectors)
    {
        Span<float> sums = stackalloc float[sectors];
        for (var i = 0; i < polar.Length; i++)
        {
            sums[i % sectors] += polar[i];
        }

        var shift = 0;
        for (var a = 1; a < sectors; a++)
        {
            shift = sums[a] > sums[shift] ? a : shift;
        }

        if (shift == 0)
        {
            return;
        }

        Span<float> line = stackalloc float[sectors];
        for (var start = 0; start < polar.Length; start += sectors)
        {
            var row = polar.Slice(start, sectors);
            row.CopyTo(line);
            line[shift..].CopyTo(row);
            line[..shift].CopyTo(row[(sectors - shift)..]);
        }
    }

    /// <summary>The outermost ring's densest and sparsest sector, and the share of its sectors well above the wafer's density: a whole ring or an arc.</summary>
    private static void OuterArc(ReadOnlySpan<float> polar, int sectors, float global, Span<float> output)
    {
        var outer = polar[^sectors..];
        var (max, min, high) = (float.MinValue, float.MaxValue, 0);
        foreach (var density in outer)
        {
            (max, min) = (Math.Max(max, density), Math.Min(min, density));
            high += density > global + 0.25f ? 1 : 0;
        }

        output[0] = max;
        output[1] = min;
        output[2] = (float)high / sectors;
    }

    /// <summary>
    /// Over an 8 × 8 map of the wafer: the densest cell, the spread of cell densities, the share of
    /// wafer area in cells well above the wafer's density, and how far the dense cells sit from the
    /// centre. Scattered fails give a low spread, a blob a high one.
    /// </summary>
    private static void Clusters(ReadOnlySpan<float> mapMass, ReadOnlySpan<float> mapFailed, float global, Span<float> output)
    {
        const int scale = MapSide / ClusterSide;
        Span<float> mass = stackalloc float[ClusterSide * ClusterSide];
        Span<float> fail = stackalloc float[ClusterSide * ClusterSide];
        for (var y = 0; y < MapSide; y++)
        {
            for (var x = 0; x < MapSide; x++)
            {
                var cell = ((y / scale) * ClusterSide) + (x / scale);
                mass[cell] += mapMass[(y * MapSide) + x];
                fail[cell] += mapFailed[(y * MapSide) + x];
            }
        }

        var (total, max, squares, denseMass, denseRadius) = (0f, 0f, 0f, 0f, 0f);
        var fullCell = Max(mass);
        for (var c = 0; c < mass.Length; c++)
        {
            // Cells the wafer's edge cuts count only when at least a quarter covered.
            if (mass[c] <= 0 || mass[c] < fullCell / 4)
            {
                continue;
            }

            var density = fail[c] / mass[c];
            total += mass[c];
            max = Math.Max(max, density);
            squares += mass[c] * (density - global) * (density - global);
            if (density > global + 0.25f)
            {
                denseMass += mass[c];
                var (u, v) = ((((c % ClusterSide) + 0.5f) / (ClusterSide / 2f)) - 1, (((c / ClusterSide) + 0.5f) / (ClusterSide / 2f)) - 1);
                denseRadius += mass[c] * MathF.Sqrt((u * u) + (v * v));
            }
        }

        output[0] = max;
        output[1] = total > 0 ? MathF.Sqrt(squares / total) : 0;
        output[2] = total > 0 ? denseMass / total : 0;
        output[3] = denseMass > 0 ? denseRadius / denseMass : 0;
    }

    /// <summary>
    /// The strongest straight band, one or two map cells wide, over <see cref="Angles"/> directions: its
    /// excess density (over the wafer's), its length as a share of the wafer, how much of its length is
    /// dense, where it passes (distance from the centre), how much weaker the best band across it is (a
    /// line is strong in one direction only, a blob in all), how far it stands out of all bands (in their
    /// standard deviations: noise looks alike at any resolution), and the mean direction's best over its own.
    /// </summary>
    private static void Line(ReadOnlySpan<float> mapMass, ReadOnlySpan<float> mapFailed, float global, float totalMass, Span<float> output)
    {
        output.Clear();
        if (totalMass <= 0)
        {
            return;
        }

        Span<float> bandMass = stackalloc float[Angles * LineBins];
        Span<float> bandFailed = stackalloc float[Angles * LineBins];
        const float binScale = LineBins / (2 * 1.42f);
        for (var cell = 0; cell < mapMass.Length; cell++)
        {
            var m = mapMass[cell];
            if (m == 0)
            {
                continue;
            }

            var f = mapFailed[cell];
            foreach (var band in BandOfCell.AsSpan(cell * Angles, Angles))
            {
                bandMass[band] += m;
                bandFailed[band] += f;
            }
        }

        // A band's score: its excess fails over what the wafer's density predicts, per square root of its
        // area (a z-score up to the binomial's spread). Bands shorter than a fifth of the diameter's are left out.
        var minimumMass = totalMass / LineBins / 5;
        Span<float> bestOfAngle = stackalloc float[Angles];
        var (bestScore, bestAngle, bestBin, bestWidth) = (float.MinValue, 0, 0, 1);
        double excessSum = 0, excessSquares = 0;
        var bands = 0;
        for (var a = 0; a < Angles; a++)
        {
            bestOfAngle[a] = float.MinValue;
            for (var b = 0; b < LineBins; b++)
            {
                var i = (a * LineBins) + b;
                for (var width = 1; width <= 2 && b + width <= LineBins; width++)
                {
                    var m = bandMass[i] + (width == 2 ? bandMass[i + 1] : 0);
                    if (m < minimumMass * width)
                    {
                        continue;
                    }

                    var excess = ((bandFailed[i] + (width == 2 ? bandFailed[i + 1] : 0)) / m) - global;
                    if (width == 2)
                    {
                        (excessSum, excessSquares, bands) = (excessSum + excess, excessSquares + (excess * excess), bands + 1);
                    }

                    var score = excess * MathF.Sqrt(m);
                    bestOfAngle[a] = Math.Max(bestOfAngle[a], score);
                    if (score > bestScore)
                    {
                        (bestScore, bestAngle, bestBin, bestWidth) = (score, a, b, width);
                    }
                }
            }
        }

        if (bands == 0)
        {
            return;
        }

        var bandIndex = (bestAngle * LineBins) + bestBin;
        var best = bandMass[bandIndex] + (bestWidth == 2 ? bandMass[bandIndex + 1] : 0);
        var bestExcess = ((bandFailed[bandIndex] + (bestWidth == 2 ? bandFailed[bandIndex + 1] : 0)) / best) - global;
        var across = bestOfAngle[(bestAngle + (Angles / 2)) % Angles];
        var meanExcess = excessSum / bands;
        var spread = Math.Sqrt(Math.Max((excessSquares / bands) - (meanExcess * meanExcess), 0));

        // Along the best band: the share of its length whose density is at least half the band's excess above the wafer's.
        const int segments = 16;
        Span<float> segmentMass = stackalloc float[segments];
        Span<float> segmentFailed = stackalloc float[segments];
        var (cos, sin) = Directions[bestAngle];
        for (var cell = 0; cell < mapMass.Length; cell++)
        {
            var m = mapMass[cell];
            if (m == 0)
            {
                continue;
            }

            var (u, v) = (MapCoordinate(cell % MapSide), MapCoordinate(cell / MapSide));
            var bin = Math.Clamp((int)((((u * cos) + (v * sin)) + 1.42f) * binScale), 0, LineBins - 1);
            if (bin < bestBin || bin >= bestBin + bestWidth)
            {
                continue;
            }

            var s = (-u * sin) + (v * cos);
            var segment = Math.Clamp((int)((s + 1.42f) / (2 * 1.42f) * segments), 0, segments - 1);
            segmentMass[segment] += m;
            segmentFailed[segment] += mapFailed[cell];
        }

        var (covered, dense) = (0, 0);
        for (var s = 0; s < segments; s++)
        {
            if (segmentMass[s] <= 0)
            {
                continue;
            }

            covered++;
            dense += segmentFailed[s] / segmentMass[s] >= global + (bestExcess / 2) ? 1 : 0;
        }

        output[0] = bestExcess;
        output[1] = best / totalMass;
        output[2] = covered == 0 ? 0 : (float)dense / covered;
        output[3] = Math.Abs(((bestBin + (bestWidth / 2f)) / binScale) - 1.42f);
        output[4] = bestScore > 0 ? Math.Max(across, 0) / bestScore : 0;
        output[5] = (float)((bestExcess - meanExcess) / (spread + 0.002));
        output[6] = bestScore > 0 ? MeanOfPositive(bestOfAngle) / bestScore : 0;
    }

    /// <summary>
    /// Hot spots on a 64 × 64 map of the wafer: cells whose fail density stands out of the others (4
    /// robust standard deviations above their median, and at least 0.15 above the wafer's density),
    /// joined into 4-connected groups. A scratch is one long thin group, a blob a round one, an edge
    /// arc a group at the rim, scatter many small groups. Features: the hot share of the wafer, groups
    /// per hot cell, then the largest group's share, length, thinness (minor over major axis),
    /// distance of its centre and mean distance of its cells from the wafer's centre, and the second
    /// largest group's share.
    /// </summary>
    private static void HotSpots(ReadOnlySpan<float> mass, ReadOnlySpan<float> failed, float global, float totalMass, Span<float> output)
    {
        output.Clear();
        if (totalMass <= 0)
        {
            return;
        }

        // Cells the edge cuts to under a quarter of a full cell are left out; densities binned to find their median and spread.
        const int bins = 300;
        const float low = -0.25f, binWidth = 1.5f / bins;
        var enough = Math.Max(Max(mass) / 4, float.Epsilon);
        Span<int> histogram = stackalloc int[bins];
        Span<float> density = stackalloc float[mass.Length];
        var counted = 0;
        for (var i = 0; i < mass.Length; i++)
        {
            density[i] = mass[i] >= enough ? failed[i] / mass[i] : float.NaN;
            if (mass[i] >= enough)
            {
                histogram[Math.Clamp((int)((density[i] - low) / binWidth), 0, bins - 1)]++;
                counted++;
            }
        }

        if (counted == 0)
        {
            return;
        }

        var median = low + (Quantile(histogram, counted / 2) * binWidth);
        Span<int> deviations = stackalloc int[bins];
        for (var b = 0; b < bins; b++)
        {
            var deviation = Math.Abs(low + (b * binWidth) - median);
            deviations[Math.Min(bins - 1, (int)(deviation / binWidth))] += histogram[b];
        }

        var sigma = 1.4826f * Quantile(deviations, counted / 2) * binWidth;
        var hotFrom = Math.Max(median + (4 * sigma), global + 0.15f);

        Span<bool> hot = stackalloc bool[mass.Length];
        for (var i = 0; i < mass.Length; i++)
        {
            hot[i] = density[i] >= hotFrom;
        }

        Span<short> queue = stackalloc short[mass.Length];
        var (groups, hotCells, hotMass) = (0, 0, 0f);
        var (largest, second) = (default(GroupShape), 0f);
        for (var start = 0; start < mass.Length; start++)
        {
            if (!hot[start])
            {
                continue;
            }

            // Breadth-first over the 4-connected hot cells; a visited cell is no longer hot.
            var shape = default(GroupShape);
            var (head, tail) = (0, 0);
            queue[tail++] = (short)start;
            hot[start] = false;
            while (head < tail)
            {
                var cell = queue[head++];
                var (x, y) = (cell % FineSide, cell / FineSide);
                shape = shape.Add(mass[cell], ((x + 0.5f) / (FineSide / 2f)) - 1, ((y + 0.5f) / (FineSide / 2f)) - 1);
                for (var n = 0; n < 4; n++)
                {
                    var next = n switch
                    {
                        0 => x > 0 ? cell - 1 : -1,
                        1 => x + 1 < FineSide ? cell + 1 : -1,
                        2 => y > 0 ? cell - FineSide : -1,
                        _ => y + 1 < FineSide ? cell + FineSide : -1,
                    };
                    if (next >= 0 && hot[next])
                    {
                        hot[next] = false;
                        queue[tail++] = (short)next;
                    }
                }
            }

            groups++;
            hotCells += tail;
            hotMass += shape.Mass;
            if (shape.Mass > largest.Mass)
            {
                (largest, second) = (shape, largest.Mass);
            }
            else
            {
                second = Math.Max(second, shape.Mass);
            }
        }

        output[0] = hotMass / totalMass;
        output[1] = hotCells == 0 ? 0 : (float)groups / hotCells;
        if (largest.Mass > 0)
        {
            var (major, minor) = largest.Axes();
            output[2] = largest.Mass / totalMass;
            output[3] = 4 * MathF.Sqrt(major);
            output[4] = major > 0 ? MathF.Sqrt(minor / major) : 1;
            output[5] = largest.CentreRadius();
            output[6] = largest.SumRadius / largest.Mass;
            output[7] = second / totalMass;
        }
    }

    /// <summary>The level below which <paramref name="rank"/> of the counts lie, in bins.</summary>
    private static int Quantile(ReadOnlySpan<int> histogram, int rank)
    {
        var (bin, below) = (0, histogram[0]);
        while (below <= rank && bin + 1 < histogram.Length)
        {
            below += histogram[++bin];
        }

        return bin;
    }

    /// <summary>A group of cells' mass-weighted moments in wafer radii.</summary>
    private readonly record struct GroupShape(float Mass, float SumX, float SumY, float SumXx, float SumYy, float SumXy, float SumRadius)
    {
        public GroupShape Add(float m, float x, float y) =>
            new(Mass + m, SumX + (m * x), SumY + (m * y), SumXx + (m * x * x), SumYy + (m * y * y), SumXy + (m * x * y), SumRadius + (m * MathF.Sqrt((x * x) + (y * y))));

        public float CentreRadius() => MathF.Sqrt((SumX * SumX) + (SumY * SumY)) / Mass;

        /// <summary>The variances along the group's major and minor axes.</summary>
        public (float Major, float Minor) Axes()
        {
            var (mx, my) = (SumX / Mass, SumY / Mass);
            var (a, c, b) = ((SumXx / Mass) - (mx * mx), (SumYy / Mass) - (my * my), (SumXy / Mass) - (mx * my));
            var root = MathF.Sqrt((((a - c) / 2) * ((a - c) / 2)) + (b * b));
            return (Math.Max(((a + c) / 2) + root, 0), Math.Max(((a + c) / 2) - root, 0));
        }
    }

    private static float MapCoordinate(int index) => ((index + 0.5f) / (MapSide / 2f)) - 1;

    private static float Density(float failed, float mass, float fallback) => mass > 0.5f ? failed / mass : fallback;

    private static float Sum(ReadOnlySpan<float> values)
    {
        var sum = 0f;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum;
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        var max = 0f;
        foreach (var value in values)
        {
            max = Math.Max(max, value);
        }

        return max;
    }

    /// <summary>The mean with negative values (and directions without a band) counted as 0.</summary>
    private static float MeanOfPositive(ReadOnlySpan<float> values)
    {
        var sum = 0f;
        foreach (var value in values)
        {
            sum += Math.Max(value, 0);
        }

        return sum / values.Length;
    }
}

/// <summary>
/// An image's off-wafer, pass and fail grey levels, read from its histograms; and how the wafer's
/// inside is drawn: the share of its pixels at the pass grey (near 1 − fails where dies are drawn flat,
/// low where every pixel mixes dies) and the spread of its greys in units of fail − pass.
/// </summary>
internal readonly record struct WaferLevels(float Off, float Pass, float Fail, float Purity, float Spread)
{
    /// <summary>
    /// The background around the wafer: the darkest grey (at most 90) that at least 4 % of the pixels
    /// sit around, else the most frequent one, so a pass grey of 90 or so that outnumbers the
    /// background is never taken for it.
    /// </summary>
    public static int OffLevel(ReadOnlySpan<int> histogram)
    {
        var total = 0L;
        foreach (var count in histogram)
        {
            total += count;
        }

        for (var v = 0; v <= 90; v++)
        {
            var window = 0L;
            for (var d = Math.Max(0, v - 3); d <= Math.Min(90, v + 3); d++)
            {
                window += histogram[d];
            }

            if (window * 25 >= total)
            {
                // The most frequent level of the first window that holds enough.
                return Mode(histogram, v, Math.Min(90, v + 6));
            }
        }

        return Mode(histogram, 0, 90);
    }

    /// <summary>Pixels brighter than this are wafer (pass greys start well above any background).</summary>
    public static int WaferThreshold(int off) => off + 45;

    /// <summary>
    /// Fail: the level only the brightest 0.2 % of wafer pixels reach, never below 215 (a wafer without
    /// a fail still has a fail level). Pass: inside the wafer, the darkest grey at least 8 % of the pixels
    /// sit around (a local peak of a ±4 window), below fail − 40: flat-drawn passing dies, or where every
    /// pixel mixes dies (maps scaled below a pixel a die), the pixels with the fewest fails; without such a
    /// peak, the 5th percentile.
    /// </summary>
    public static WaferLevels Estimate(ReadOnlySpan<int> histogram, int off, ReadOnlySpan<int> interior)
    {
        var threshold = WaferThreshold(off);
        var onWafer = 0;
        for (var v = threshold + 1; v < 256; v++)
        {
            onWafer += histogram[v];
        }

        var (top, above) = (255, 0);
        while (top > threshold && above + histogram[top] <= Math.Max(2, onWafer / 500))
        {
            above += histogram[top--];
        }

        var fail = Math.Max(top, 215);
        var interiorCount = 0;
        Span<int> window = stackalloc int[256];
        for (var v = threshold + 1; v < 256; v++)
        {
            interiorCount += interior[v];
            for (var d = Math.Max(0, v - 4); d <= Math.Min(255, v + 4); d++)
            {
                window[v] += interior[d];
            }
        }

        float pass = off + (0.45f * (255 - off));
        if (interiorCount >= 20)
        {
            var peak = -1;
            for (var v = threshold + 1; v <= fail - 40 && peak < 0; v++)
            {
                var isPeak = window[v] * 100 >= interiorCount * 8;
                for (var d = Math.Max(0, v - 4); d <= Math.Min(255, v + 4) && isPeak; d++)
                {
                    isPeak = window[d] <= window[v];
                }

                peak = isPeak ? v : -1;
            }

            if (peak >= 0)
            {
                // Up to the top of that peak (noise spreads it), then its mean.
                while (peak < 255 && window[peak + 1] >= window[peak])
                {
                    peak++;
                }

                long sum = 0, n = 0;
                for (var d = Math.Max(0, peak - 8); d <= Math.Min(255, peak + 8); d++)
                {
                    (sum, n) = (sum + ((long)d * interior[d]), n + interior[d]);
                }

                pass = (float)sum / n;
            }
            else
            {
                var (v, below) = (threshold, 0);
                while (v < 255 && (below += interior[++v]) < interiorCount / 20)
                {
                }

                pass = v;
            }
        }

        fail = Math.Max(fail, (int)Math.Min(255, pass + 50));
        pass = Math.Min(pass, fail - 50);
        long atPass = 0, sumLevels = 0, sumSquares = 0;
        for (var v = threshold + 1; v < 256; v++)
        {
            atPass += Math.Abs(v - pass) <= 8 ? interior[v] : 0;
            sumLevels += (long)v * interior[v];
            sumSquares += (long)v * v * interior[v];
        }

        var (purity, spread) = (0f, 0f);
        if (interiorCount > 0)
        {
            var mean = (double)sumLevels / interiorCount;
            purity = (float)atPass / interiorCount;
            spread = (float)(Math.Sqrt(Math.Max(((double)sumSquares / interiorCount) - (mean * mean), 0)) / (fail - pass));
        }

        return new WaferLevels(off, pass, fail, purity, spread);
    }

    /// <summary>
    /// The most frequent level in [from, to], by a ±3 window that stays inside [from, to] (so a pass grey
    /// just above <paramref name="to"/> is never taken for the background), then the most frequent single level in that window.
    /// </summary>
    private static int Mode(ReadOnlySpan<int> histogram, int from, int to)
    {
        var (best, bestCount) = (from, -1);
        for (var v = from; v <= to; v++)
        {
            var window = 0;
            for (var d = Math.Max(from, v - 3); d <= Math.Min(to, v + 3); d++)
            {
                window += histogram[d];
            }

            (best, bestCount) = window > bestCount ? (v, window) : (best, bestCount);
        }

        var peak = best;
        for (var d = Math.Max(from, best - 3); d <= Math.Min(to, best + 3); d++)
        {
            peak = histogram[d] > histogram[peak] ? d : peak;
        }

        return peak;
    }
}
