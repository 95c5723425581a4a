namespace ParticleGrid.Imaging;

/// <summary>
/// How each particle type is drawn on a <see cref="ParticleCanvas"/>, following how the types look in FIM
/// (DOMAIN.md): transmission below 1 is darker than the background, above 1 brighter.
/// Every method gets the rendered radius in pixels (the radius of a circle of the particle's area) and draws the
/// particle at a jittered position, in a random orientation, with randomly varied contrast.
/// </summary>
internal static class ParticleShapes
{
    /// <summary>Below this rendered radius a bubble shows the small-bubble look (dark core in a bright halo).</summary>
    private const double SmallBubbleRadius = 12;

    /// <summary>
    /// Air bubble: perfectly round with a sharp outline. Large: a thick, very dark rim around a grey inside, often cut
    /// by the frame edge, sometimes a bright spot at the centre. Small: a dark core inside a bright halo ring.
    /// </summary>
    public static void Bubble(ParticleCanvas canvas, Random random, double radius)
    {
        if (radius < SmallBubbleRadius)
        {
            double halo = 2.4 + random.NextDouble() * 1.2;
            (double cx, double cy) = Place(canvas, random, radius + halo);
            double core = 0.04 + random.NextDouble() * 0.14;
            double haloPeak = 1.32 + random.NextDouble() * 0.14;
            canvas.PaintAround(cx, cy, radius + halo, (dx, dy) =>
            {
                double d = Math.Sqrt(dx * dx + dy * dy);
                if (d <= radius) return core;
                if (d <= radius + halo) return 1 + (haloPeak - 1) * (1 - (d - radius) / halo); // brightest next to the core
                return null;
            });
            return;
        }

        // Large bubbles may be wider than the frame; their centre stays inside it, so the frame cuts the circle.
        bool cut = radius > 0.3 * canvas.Size && random.NextDouble() < 0.7;
        (double x, double y) = cut ? PlaceAnywhere(canvas, random, 0.42) : Place(canvas, random, radius + 1);
        double rim = radius * (0.18 + random.NextDouble() * 0.17);
        double rimLevel = 0.04 + random.NextDouble() * 0.14;
        double inside = 0.42 + random.NextDouble() * 0.3;
        double ramp = 1 + random.NextDouble() * 1.5; // the rim's inner edge is softer than its outer one
        bool centreSpot = random.NextDouble() < 0.3;
        double spotRadius = radius * (0.08 + random.NextDouble() * 0.1);
        bool outerHalo = random.NextDouble() < 0.5;
        canvas.PaintAround(x, y, radius + 1.5, (dx, dy) =>
        {
            double d = Math.Sqrt(dx * dx + dy * dy);
            if (d > radius) return outerHalo && d < radius + 1.2 ? 1.1 : null;
            double fromRim = radius - rim - d; // > 0 inside the rim
            if (fromRim <= 0) return rimLevel;
            if (centreSpot && d < spotRadius) return 1.05;
            return fromRim < ramp ? rimLevel + (inside - rimLevel) * fromRim / ramp : inside + 0.08 * (1 - d / radius);
        });
    }

    /// <summary>
    /// Silicone-oil droplet: round and translucent, a bright centre spot inside a thin dark ring; out of focus it
    /// inverts to a grey centre in a bright rim. Sometimes two droplets touch (a doublet).
    /// </summary>
    public static void SiliconeOil(ParticleCanvas canvas, Random random, double radius, double minimumRadius)
    {
        bool doublet = random.NextDouble() < 0.15;
        bool inverted = random.NextDouble() < 0.2;
        if (!doublet)
        {
            (double cx, double cy) = Place(canvas, random, radius + 1);
            Droplet(canvas, random, cx, cy, radius, inverted);
            return;
        }

        // Two droplets of similar area to one: the pair's total area matches the particle's ECD.
        double ratio = 0.55 + random.NextDouble() * 0.45;
        double first = Math.Max(minimumRadius, radius / Math.Sqrt(1 + ratio * ratio));
        double second = Math.Max(minimumRadius, first * ratio);
        double angle = random.NextDouble() * 2 * Math.PI;
        double apart = (first + second) * 0.95;
        (double mx, double my) = Place(canvas, random, (first + second) + 1);
        double ax = mx - Math.Cos(angle) * apart / 2, ay = my - Math.Sin(angle) * apart / 2;
        Droplet(canvas, random, ax, ay, first, inverted);
        Droplet(canvas, random, ax + Math.Cos(angle) * apart, ay + Math.Sin(angle) * apart, second, inverted);
    }

    internal static void Droplet(ParticleCanvas canvas, Random random, double cx, double cy, double radius, bool inverted)
    {
        // Small droplets keep a ring and a spot at least about a pixel wide so the pattern survives the camera.
        double ring = Math.Max(1.3, radius * (0.08 + random.NextDouble() * 0.06));
        double ringLevel = 0.25 + random.NextDouble() * 0.25;
        double body = 0.9 + random.NextDouble() * 0.12;
        double spot = Math.Max(1.5, radius * (0.2 + random.NextDouble() * 0.2));
        double spotLevel = 1.2 + random.NextDouble() * 0.15;
        if (inverted)
        {
            double centreLevel = 0.42 + random.NextDouble() * 0.2;
            double brightRim = 1.2 + random.NextDouble() * 0.15;
            spot = Math.Max(1.2, radius * (0.35 + random.NextDouble() * 0.15));
            canvas.PaintAround(cx, cy, radius + 1, (dx, dy) =>
            {
                double d = Math.Sqrt(dx * dx + dy * dy);
                if (d > radius) return null;
                if (d > radius - 0.7) return 0.72;      // a faint dark outline
                if (d > radius - 0.7 - ring) return brightRim;
                return d < spot ? centreLevel : body - 0.05;
            });
            return;
        }
        canvas.PaintAround(cx, cy, radius + 1, (dx, dy) =>
        {
            double d = Math.Sqrt(dx * dx + dy * dy);
            if (d > radius) return null;
            if (d > radius - ring) return ringLevel;
            if (d < spot) return spotLevel;
            return body + (spotLevel - body) * 0.25 * (1 - d / radius); // the lens brightens towards the centre
        });
    }

    /// <summary>
    /// Glass: an angular, compact polygon with straight sharp edges and corners. Either dark with a few bright facets
    /// (light refracted by the faces) or a translucent body with a crisp dark outline and a fracture line; small shards
    /// are plain dark angular specks.
    /// </summary>
    public static void Glass(ParticleCanvas canvas, Random random, double radius)
    {
        bool small = radius < 6;
        int corners = small ? 3 + random.Next(3) : 4 + random.Next(4);
        (double X, double Y)[] outline = Shard(random, corners, radius, maxStretch: small ? 2.0 : 1.6);
        double reach = outline.Max(p => Math.Sqrt(p.X * p.X + p.Y * p.Y));
        (double cx, double cy) = Place(canvas, random, reach + 1);
        outline = [.. outline.Select(p => (p.X + cx, p.Y + cy))];
        double left = outline.Min(p => p.X) - 2, right = outline.Max(p => p.X) + 2;
        double top = outline.Min(p => p.Y) - 2, bottom = outline.Max(p => p.Y) + 2;

        // Facets: triangles fanning from a point near the middle to each edge.
        (double X, double Y) apex = (cx + (random.NextDouble() - 0.5) * radius * 0.5, cy + (random.NextDouble() - 0.5) * radius * 0.5);
        // Small shards are always the dark kind, without bright facets: a thin translucent outline a few pixels across
        // would read as a droplet's ring, and a bright facet in a dark speck as a droplet's bright centre.
        bool translucent = !small && random.NextDouble() < 0.45;
        double edgeWidth = translucent ? 0.9 + random.NextDouble() * 1.1 : 0.8;
        double edgeLevel = 0.1 + random.NextDouble() * 0.22;
        double[] facetLevels = new double[corners];
        double bodyLevel = translucent ? 0.74 + random.NextDouble() * 0.16 : 0.1 + random.NextDouble() * 0.2;
        int brightFacet = random.Next(corners);
        for (int i = 0; i < corners; i++)
        {
            facetLevels[i] = translucent
                ? bodyLevel + (random.NextDouble() - 0.5) * 0.12
                : !small && (i == brightFacet || random.NextDouble() < 0.25) ? 0.75 + random.NextDouble() * 0.4
                : bodyLevel + random.NextDouble() * (small ? 0.25 : 0.15);
        }

        canvas.Paint(left, top, right, bottom, (x, y) =>
        {
            if (!Geometry.InsidePolygon(outline, x, y)) return null;
            if (Geometry.DistanceToOutline(outline, x, y) < edgeWidth) return edgeLevel;
            return facetLevels[Geometry.FanSector(outline, apex, x, y)];
        });

        if (translucent)
        {
            // A fracture: a straight line across the body between two edges, and a bright sliver along one edge.
            int a = random.Next(corners), b = (a + 1 + random.Next(corners - 2)) % corners;
            (double X, double Y) from = Geometry.Along(outline[a], outline[(a + 1) % corners], 0.3 + random.NextDouble() * 0.4);
            (double X, double Y) to = Geometry.Along(outline[b], outline[(b + 1) % corners], 0.3 + random.NextDouble() * 0.4);
            double crackLevel = 0.35 + random.NextDouble() * 0.2;
            canvas.Paint(left, top, right, bottom, (x, y) =>
                Geometry.InsidePolygon(outline, x, y) && Geometry.DistanceToSegment(from, to, x, y) < 0.6 ? crackLevel : null);

            int lit = random.Next(corners);
            (double X, double Y)[] sliver = [outline[lit], outline[(lit + 1) % corners], apex];
            canvas.Paint(left, top, right, bottom, (x, y) =>
            {
                if (!Geometry.InsidePolygon(sliver, x, y)) return null;
                double d = Geometry.DistanceToSegment(sliver[0], sliver[1], x, y);
                return d >= edgeWidth && d < edgeWidth + 1.2 ? 1.18 : null;
            });
        }
    }

    /// <summary>
    /// A compact, angular outline (corners sorted by angle, so the shape is star-shaped about the origin),
    /// elongated up to <paramref name="maxStretch"/> : 1 and scaled to the area of a circle of <paramref name="radius"/>.
    /// </summary>
    internal static (double X, double Y)[] Shard(Random random, int corners, double radius, double maxStretch)
    {
        double[] angles = new double[corners];
        double step = 2 * Math.PI / corners;
        double turn = random.NextDouble() * 2 * Math.PI;
        for (int i = 0; i < corners; i++) angles[i] = turn + i * step + (random.NextDouble() - 0.5) * step * 0.6;
        double stretch = 1 + random.NextDouble() * (maxStretch - 1), axis = random.NextDouble() * Math.PI;
        var points = new (double X, double Y)[corners];
        for (int i = 0; i < corners; i++)
        {
            double r = 0.75 + random.NextDouble() * 0.4;
            double u = Math.Cos(angles[i]) * r * stretch, v = Math.Sin(angles[i]) * r;
            points[i] = (u * Math.Cos(axis) - v * Math.Sin(axis), u * Math.Sin(axis) + v * Math.Cos(axis));
        }
        double scale = Math.Sqrt(Math.PI * radius * radius / Geometry.Area(points));
        return [.. points.Select(p => (p.X * scale, p.Y * scale))];
    }

    /// <summary>
    /// Protein aggregate: irregular, ragged, low-contrast and translucent, the most varied of the four: fluffy clumps,
    /// fibrous strands, or globular and ring-like bodies, with a mottled inside.
    /// </summary>
    public static void Protein(ParticleCanvas canvas, Random random, double radius)
    {
        bool small = radius < 5;
        double contrast = (small ? 0.2 : 0.14) + random.NextDouble() * 0.2; // how much darker than the background, at most
        var texture = new ValueNoise(random.Next(), Math.Max(1.0, radius / 3));
        var ragged = new ValueNoise(random.Next(), Math.Max(1.2, radius / 5));
        double Mottled(double x, double y, double darkness) => 1 - darkness * contrast * (0.65 + 0.35 * texture.Fractal(x, y));

        double style = random.NextDouble();
        if (style < 0.45 || small)
        {
            // A fluffy clump: overlapping soft blobs whose joint outline is torn up by noise.
            // Small clumps spread their blobs wider so that they stay lumpy rather than round.
            int blobs = 3 + random.Next(small ? 3 : 9);
            double stride = radius * (small ? 0.7 : 0.45);
            var centres = new (double X, double Y, double Sigma)[blobs];
            double wx = 0, wy = 0;
            for (int i = 0; i < blobs; i++)
            {
                centres[i] = (wx, wy, radius * ((small ? 0.45 : 0.3) + random.NextDouble() * 0.25));
                double angle = random.NextDouble() * 2 * Math.PI;
                wx += Math.Cos(angle) * stride;
                wy += Math.Sin(angle) * stride;
                double distance = Math.Sqrt(wx * wx + wy * wy);
                if (distance > radius * 0.7) { wx *= radius * 0.7 / distance; wy *= radius * 0.7 / distance; }
            }
            double reach = radius * 1.6 + 2;
            (double cx, double cy) = Place(canvas, random, radius * 1.2 + 1);
            canvas.PaintAround(cx, cy, reach, (dx, dy) =>
            {
                double field = 0;
                foreach (var (bx, by, sigma) in centres)
                {
                    double ex = dx - bx, ey = dy - by;
                    field += Math.Exp(-(ex * ex + ey * ey) / (2 * sigma * sigma));
                }
                double edge = field + 0.45 * ragged.Fractal(dx, dy);
                if (edge < 0.5) return null;
                return Mottled(dx, dy, Math.Min(1, 0.55 + (edge - 0.5)));
            });
        }
        else if (style < 0.75 || radius < 9)
        {
            // Fibrous strands: a few wandering threads from a common knot.
            (double cx, double cy) = Place(canvas, random, radius * 1.2 + 1);
            int strands = 2 + random.Next(4);
            var segments = new List<((double X, double Y) From, (double X, double Y) To, double Width)>();
            for (int s = 0; s < strands; s++)
            {
                double angle = random.NextDouble() * 2 * Math.PI;
                double x = 0, y = 0;
                double width = 0.8 + random.NextDouble() * 1.4;
                int steps = 6 + random.Next(8);
                for (int k = 0; k < steps; k++)
                {
                    angle += (random.NextDouble() - 0.5) * 1.1;
                    double length = radius * 1.5 / steps;
                    double nx = x + Math.Cos(angle) * length, ny = y + Math.Sin(angle) * length;
                    segments.Add(((x, y), (nx, ny), width));
                    (x, y) = (nx, ny);
                }
            }
            double knot = radius * (0.25 + random.NextDouble() * 0.2);
            canvas.PaintAround(cx, cy, radius * 1.6 + 3, (dx, dy) =>
            {
                double knotEdge = knot * (1 + 0.4 * ragged.Fractal(dx, dy)) - Math.Sqrt(dx * dx + dy * dy);
                if (knotEdge > 0) return Mottled(dx, dy, 0.9);
                double fray = 1 + 0.5 * ragged.At(dx * 2, dy * 2); // threads thicken and thin along their length
                foreach (var (from, to, width) in segments)
                {
                    if (Geometry.NearSegment(from, to, dx, dy, width * fray)) return Mottled(dx, dy, 0.8);
                }
                return null;
            });
        }
        else
        {
            // A globular or ring-like body with a wobbling outline (only large ones: a small faint ring would pass
            // for a silicone-oil droplet).
            bool ring = random.NextDouble() < 0.5;
            double hole = radius * (0.45 + random.NextDouble() * 0.2);
            double outer = ring ? Math.Sqrt(radius * radius + hole * hole) : radius;
            (double cx, double cy) = Place(canvas, random, outer * 1.25 + 1);
            canvas.PaintAround(cx, cy, outer * 1.4 + 2, (dx, dy) =>
            {
                double d = Math.Sqrt(dx * dx + dy * dy);
                double wobble = 1 + 0.22 * ragged.Fractal(dx, dy);
                if (d > outer * wobble) return null;
                if (ring && d < hole * wobble) return null;
                return Mottled(dx, dy, ring ? 0.9 : 0.7 + 0.3 * d / outer);
            });
        }
    }

    /// <summary>Fibre (out of scope for the four-way models): a long, thin, gently curved strand.</summary>
    public static void Fibre(ParticleCanvas canvas, Random random, double lengthPixels, double widthPixels)
    {
        double angle = random.NextDouble() * Math.PI;
        double half = lengthPixels / 2;
        (double cx, double cy) = Place(canvas, random, Math.Min(half, canvas.Size * 0.3));
        (double X, double Y) start = (cx - Math.Cos(angle) * half, cy - Math.Sin(angle) * half);
        (double X, double Y) end = (cx + Math.Cos(angle) * half, cy + Math.Sin(angle) * half);
        double bend = (random.NextDouble() - 0.5) * lengthPixels * 0.5;
        (double X, double Y) control = (cx - Math.Sin(angle) * bend, cy + Math.Cos(angle) * bend);
        const int Pieces = 24;
        var points = Enumerable.Range(0, Pieces + 1).Select(i => Geometry.Bezier(start, control, end, i / (double)Pieces)).ToArray();
        double level = 0.25 + random.NextDouble() * 0.25;
        double left = points.Min(p => p.X) - widthPixels - 1, right = points.Max(p => p.X) + widthPixels + 1;
        double top = points.Min(p => p.Y) - widthPixels - 1, bottom = points.Max(p => p.Y) + widthPixels + 1;
        canvas.Paint(left, top, right, bottom, (x, y) =>
        {
            for (int i = 0; i < Pieces; i++)
            {
                if (Geometry.NearSegment(points[i], points[i + 1], x, y, widthPixels / 2)) return level;
            }
            return null;
        });
    }

    /// <summary>A centre that keeps a particle reaching <paramref name="extent"/> pixels inside the frame, jittered.</summary>
    internal static (double X, double Y) Place(ParticleCanvas canvas, Random random, double extent)
    {
        double middle = canvas.Size / 2.0;
        double freedom = Math.Max(0, middle - extent - 1) * 0.8;
        return (middle + (random.NextDouble() * 2 - 1) * freedom, middle + (random.NextDouble() * 2 - 1) * freedom);
    }

    /// <summary>A centre anywhere within <paramref name="share"/> of the half-frame from the middle.</summary>
    private static (double X, double Y) PlaceAnywhere(ParticleCanvas canvas, Random random, double share)
    {
        double middle = canvas.Size / 2.0;
        return (middle + (random.NextDouble() * 2 - 1) * middle * share * 2, middle + (random.NextDouble() * 2 - 1) * middle * share * 2);
    }
}
