import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian installs Maven metadata for its Java packages (one `debian` version per library). */
export const DEBIAN_MAVEN_REPO = '/usr/share/maven-repo';

export const INSTALL_HINT = "install Debian's Apache Jena and a Java runtime: apt-get install libapache-jena-java";

export interface ResolvedClasspath {
  /** Jar files in dependency order (roots first), deduplicated by real path. */
  jars: string[];
  /** Version of jena-core, e.g. "4.5.0" (keys the Xerces resource cache); "unknown" if not found. */
  jenaVersion: string;
  /** The real path of jena-core.jar (holds the Xerces message resources). */
  jenaCoreJar: string;
  /**
   * An SLF4J binding that writes to stderr (slf4j-simple), when installed. Jena declares none, so
   * without it every start prints SLF4J's "NOP logger" notice and RIOT's data warnings are lost.
   */
  loggingJar?: string;
  /** Declared, non-optional dependencies that have no jar on this machine ("group:artifact"). */
  missing: string[];
}

export interface Dependency {
  groupId: string;
  artifactId: string;
  type: string;
  /** "group:artifact" keys this dependency excludes from its own transitive dependencies ("*" wildcards allowed). */
  exclusions: string[];
}

/**
 * The classpath of Jena's command-line tools, built from the declared dependencies in Debian's
 * Maven repository: every jar on /usr/share/java together clashes (two SLF4J bindings, old
 * Xerces, etc.), so only what jena-cmds declares, transitively, goes on it.
 */
export function resolveJenaClasspath(repo = DEBIAN_MAVEN_REPO): ResolvedClasspath {
  const root: Dependency = { groupId: 'org.apache.jena', artifactId: 'jena-cmds', type: 'jar', exclusions: [] };
  if (!pomFile(repo, root)) throw new Error(`Apache Jena is not installed (no ${join(repo, 'org/apache/jena/jena-cmds')}); ${INSTALL_HINT}`);
  const jars: string[] = [];
  const seenJars = new Set<string>();
  const seen = new Set<string>();
  const missing: string[] = [];
  // Breadth first, so the nearest declaration of an artifact wins (as in Maven); exclusions
  // accumulate along the path that reached a dependency.
  const queue: Array<{ dep: Dependency; excluded: string[] }> = [{ dep: root, excluded: [] }];
  while (queue.length > 0) {
    const { dep, excluded } = queue.shift()!;
    const key = `${dep.groupId}:${dep.artifactId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pom = pomFile(repo, dep);
    if (dep.type !== 'pom') {
      const jar = jarFile(repo, dep);
      if (jar === undefined) {
        missing.push(key);
        continue;
      }
      const real = realpathSync(jar);
      if (!seenJars.has(real)) {
        seenJars.add(real);
        jars.push(real);
      }
    }
    if (!pom) continue;
    const childExcluded = [...excluded, ...dep.exclusions];
    for (const child of runtimeDependencies(readFileSync(pom, 'utf8'))) {
      if (!isExcluded(child, childExcluded)) queue.push({ dep: child, excluded: childExcluded });
    }
  }
  const coreDep: Dependency = { groupId: 'org.apache.jena', artifactId: 'jena-core', type: 'jar', exclusions: [] };
  const coreJar = jarFile(repo, coreDep);
  const core = coreJar === undefined ? undefined : realpathSync(coreJar);
  if (!core || !seenJars.has(core)) throw new Error(`jena-core.jar was not found through ${repo}; ${INSTALL_HINT}`);
  const simple = jarFile(repo, { groupId: 'org.slf4j', artifactId: 'slf4j-simple', type: 'jar', exclusions: [] });
  return { jars, jenaVersion: artifactVersion(repo, coreDep) ?? 'unknown', jenaCoreJar: core, loggingJar: simple && realpathSync(simple), missing };
}

/** Dependencies a pom declares for run time: no test/provided/system scope, no optional ones. */
export function runtimeDependencies(pomXml: string): Dependency[] {
  const xml = pomXml
    .replace(/<!--[\s\S]*?-->/g, '')
    // Only the project's own <dependencies>: not <dependencyManagement> (which merely pins
    // versions), nor plugin dependencies in <build>, nor those of optional <profiles>.
    .replace(/<dependencyManagement>[\s\S]*?<\/dependencyManagement>/g, '')
    .replace(/<build>[\s\S]*?<\/build>/g, '')
    .replace(/<profiles>[\s\S]*?<\/profiles>/g, '');
  const block = /<dependencies>([\s\S]*?)<\/dependencies>/.exec(xml)?.[1] ?? '';
  const out: Dependency[] = [];
  for (const m of block.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)) {
    const whole = m[1]!;
    const exclusionsXml = /<exclusions>([\s\S]*?)<\/exclusions>/.exec(whole)?.[1] ?? '';
    const body = whole.replace(/<exclusions>[\s\S]*?<\/exclusions>/, '');
    const tag = (xmlText: string, name: string) => new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(xmlText)?.[1];
    const scope = tag(body, 'scope') ?? 'compile';
    if (scope === 'test' || scope === 'provided' || scope === 'system') continue;
    if (tag(body, 'optional') === 'true') continue;
    const groupId = tag(body, 'groupId');
    const artifactId = tag(body, 'artifactId');
    if (!groupId || !artifactId) continue;
    const exclusions = [...exclusionsXml.matchAll(/<exclusion>([\s\S]*?)<\/exclusion>/g)].map((e) => `${tag(e[1]!, 'groupId') ?? '*'}:${tag(e[1]!, 'artifactId') ?? '*'}`);
    out.push({ groupId, artifactId, type: tag(body, 'type') ?? 'jar', exclusions });
  }
  return out;
}

function isExcluded(d: Dependency, exclusions: string[]): boolean {
  return exclusions.some((e) => {
    const [g, a] = e.split(':');
    return (g === '*' || g === d.groupId) && (a === '*' || a === d.artifactId);
  });
}

function artifactDir(repo: string, d: Dependency): string {
  return join(repo, ...d.groupId.split('.'), d.artifactId);
}

/** Debian's own version directory ("debian") first, else any version that has the file. */
function versionDirs(repo: string, d: Dependency): string[] {
  const dir = artifactDir(repo, d);
  if (!existsSync(dir)) return [];
  const versions = readdirSync(dir).sort();
  return ['debian', ...versions.filter((v) => v !== 'debian')].filter((v) => versions.includes(v)).map((v) => join(dir, v));
}

/**
 * The upstream version of an artifact: Debian keeps it as a version directory beside "debian"
 * (both hold links to the same jar); else the project's own <version> in its pom (not the parent's).
 */
function artifactVersion(repo: string, d: Dependency): string | undefined {
  const dir = artifactDir(repo, d);
  const numeric = existsSync(dir) ? readdirSync(dir).filter((v) => /^\d/.test(v)) : [];
  if (numeric.length > 0) return numeric.sort(compareVersions).at(-1);
  const pom = pomFile(repo, d);
  if (!pom) return undefined;
  const own = readFileSync(pom, 'utf8').replace(/<!--[\s\S]*?-->/g, '').replace(/<parent>[\s\S]*?<\/parent>/, '');
  const v = /<version>\s*([^<\s]+)\s*<\/version>/.exec(own)?.[1];
  return v && v !== 'debian' ? v : undefined;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const d = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (d !== 0) return d;
  }
  return 0;
}

function pomFile(repo: string, d: Dependency): string | undefined {
  for (const dir of versionDirs(repo, d)) {
    const pom = readdirSync(dir).find((f) => f.endsWith('.pom'));
    if (pom) return join(dir, pom);
  }
  return undefined;
}

function jarFile(repo: string, d: Dependency): string | undefined {
  for (const dir of versionDirs(repo, d)) {
    const jar = readdirSync(dir).find((f) => f.endsWith('.jar') && !f.endsWith('-sources.jar') && !f.endsWith('-javadoc.jar'));
    // existsSync follows the link: Debian leaves dangling links when a library's package is absent.
    if (jar && existsSync(join(dir, jar))) return join(dir, jar);
  }
  return undefined;
}
