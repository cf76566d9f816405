package dev.nightshift.server.dashboard;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.jobs.JobService;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Problems;
import org.springframework.web.servlet.ModelAndView;
import tools.jackson.databind.json.JsonMapper;
import dev.nightshift.server.workers.WorkerService;
import dev.nightshift.server.security.AuditLog;
import java.security.Principal;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/**
 * The operators' pages. Each page renders whole on load; its {@code live} fragment is fetched again every few
 * seconds ({@code ?fragment=live}) so counts, progress and reasons move without a reload. Actions are POSTs with
 * a CSRF token, allowed to ADMIN only (see {@link DashboardSecurity}), answered by a redirect back to the page.
 */
@Controller
class DashboardController {
  private static final Logger log = LoggerFactory.getLogger(DashboardController.class);
  private final DashboardViews views;
  private final DashboardFormat format;
  private final JobService jobService;
  private final WorkerService workerService;
  private final AuditLog audit;
  private final JsonMapper json;
  /** The agent rollout, summed up on the Workers page; null: not shown. */
  private dev.nightshift.server.install.AgentRollout agentRollout;

  @org.springframework.beans.factory.annotation.Autowired
  void useAgentRollout(dev.nightshift.server.install.AgentRollout rollout) {
    this.agentRollout = rollout;
  }

  DashboardController(
      DashboardViews views,
      DashboardFormat format,
      JobService jobService,
      WorkerService workerService,
      AuditLog audit,
      JsonMapper json) {
    this.audit = audit;
    this.json = json;
    this.views = views;
    this.format = format;
    this.jobService = jobService;
    this.workerService = workerService;
  }

  @ModelAttribute
  void common(Model model, Authentication auth) {
    model.addAttribute("f", format);
    if (auth != null) {
      model.addAttribute("user", auth.getName());
      model.addAttribute(
          "admin", auth.getAuthorities().stream().anyMatch(a -> "ROLE_ADMIN".equals(a.getAuthority())));
    }
  }

  private static String view(String page, String fragment) {
    return "live".equals(fragment) ? "dashboard/" + page + " :: live" : "dashboard/" + page;
  }

  @GetMapping("/login")
  String login() {
    return "dashboard/login";
  }

  @GetMapping({"/ui", "/ui/"})
  String overview(@RequestParam(required = false) String fragment, Model model) {
    model.addAttribute("page", "overview");
    model.addAttribute("o", views.overview());
    return view("overview", fragment);
  }

  @GetMapping("/ui/jobs")
  String jobs(
      @RequestParam(required = false) String state,
      @RequestParam(required = false) String name,
      @RequestParam(required = false) Long before,
      @RequestParam(required = false) String fragment,
      Model model) {
    JobState filter = parse(JobState.class, state);
    model.addAttribute("page", "jobs");
    model.addAttribute("state", filter);
    model.addAttribute("name", name == null ? "" : name);
    model.addAttribute("before", before);
    model.addAttribute("states", JobState.values());
    model.addAttribute("p", views.jobs(filter, name, before));
    return view("jobs", fragment);
  }

  @GetMapping("/ui/jobs/{id}")
  String job(
      @PathVariable long id,
      @RequestParam(required = false) String batches,
      @RequestParam(required = false) Integer after,
      @RequestParam(required = false) String fragment,
      Model model) {
    model.addAttribute("page", "jobs");
    model.addAttribute("d", views.job(id));
    if (!"live".equals(fragment)) {
      BatchState filter = parse(BatchState.class, batches);
      model.addAttribute("batchState", filter);
      model.addAttribute("batchStates", BatchState.values());
      model.addAttribute("after", after);
      var page = views.batches(id, filter, after);
      model.addAttribute("b", page);
      model.addAttribute("workerNames", views.workerNames(page.items().stream().map(x -> x.workerId()).toList()));
    }
    return view("job", fragment);
  }

  @PostMapping("/ui/jobs/{id}/{action}")
  String jobAction(
      @PathVariable long id, @PathVariable String action, Principal user, RedirectAttributes flash) {
    Supplier<String> done =
        switch (action) {
          case "cancel" -> () -> {
            jobService.cancel(id);
            return "Job " + id + " cancelled.";
          };
          case "pause" -> () -> {
            jobService.pause(id);
            return "Job " + id + " paused.";
          };
          case "resume" -> () -> {
            jobService.resume(id);
            return "Job " + id + " resumed.";
          };
          case "retry" -> () -> "Job " + id + ": " + jobService.retry(id) + " dead batch(es) back to pending.";
          default -> throw ProblemException.notFound("action", action);
        };
    act(user, "job " + id + " " + action, done, flash);
    return "redirect:/ui/jobs/" + id;
  }

  @GetMapping("/ui/workers")
  String workers(@RequestParam(required = false) String fragment, Model model) {
    model.addAttribute("page", "workers");
    model.addAttribute("w", views.workers());
    model.addAttribute("rollout", agentRollout == null ? null : agentRollout.summary());
    return view("workers", fragment);
  }

  @PostMapping("/ui/workers/{id}/{action}")
  String workerAction(
      @PathVariable String id, @PathVariable String action, Principal user, RedirectAttributes flash) {
    Supplier<String> done =
        switch (action) {
          case "drain" -> () -> {
            workerService.drain(id, user.getName());
            return "Worker drained: it finishes its running batches and claims no new ones.";
          };
          case "resume" -> () -> {
            workerService.resume(id, user.getName());
            return "Worker resumed: it claims again after its next heartbeat.";
          };
          case "approve" -> () -> {
            workerService.approve(id, user.getName());
            return "Worker approved: it claims from its next call on.";
          };
          case "revoke" -> () -> {
            workerService.revoke(id, user.getName());
            return "Worker revoked: its token is refused from now on and its batches were requeued.";
          };
          default -> throw ProblemException.notFound("action", action);
        };
    act(user, "worker " + id + " " + action, done, flash);
    return "redirect:/ui/workers";
  }

  /** The audit trail (ADMIN only, see {@link DashboardSecurity}): newest first, 100 a page. */
  @GetMapping("/ui/audit")
  String audit(
      @RequestParam(defaultValue = "") String actor,
      @RequestParam(defaultValue = "") String action,
      @RequestParam(defaultValue = "") String target,
      @RequestParam(required = false) Long before,
      @RequestParam(required = false) String fragment,
      Model model) {
    int limit = 100;
    var items = audit.find(new AuditLog.Filter(actor, action, target, null, before, limit));
    model.addAttribute("page", "audit");
    model.addAttribute("actor", actor);
    model.addAttribute("action", action);
    model.addAttribute("target", target);
    model.addAttribute("before", before);
    model.addAttribute("items", items);
    model.addAttribute("nextBefore", items.size() == limit ? items.get(items.size() - 1).id() : null);
    return view("audit", fragment);
  }

  @GetMapping("/ui/code")
  String code(@RequestParam(required = false) String fragment, Model model) {
    model.addAttribute("page", "code");
    model.addAttribute("c", views.code());
    return view("code", fragment);
  }

  /** The server's front door is the dashboard. */
  @GetMapping("/")
  String root() {
    return "redirect:/ui";
  }

  @PostMapping("/ui/code/promote")
  String promote(
      @RequestParam String commit,
      @RequestParam(defaultValue = "false") boolean rollback,
      Principal user,
      RedirectAttributes flash) {
    act(
        user,
        "promote " + commit,
        () -> {
          ReleaseView rv =
              views.releaseView()
                  .orElseThrow(() -> ProblemException.conflict("code distribution is not available yet"));
          rv.promote(commit.strip(), rollback, user.getName());
          return (rollback ? "Rolled back to " : "Promoted ") + commit.strip() + ".";
        },
        flash);
    return "redirect:/ui/code";
  }

  private void act(Principal user, String what, Supplier<String> action, RedirectAttributes flash) {
    var request = org.springframework.web.context.request.RequestContextHolder.currentRequestAttributes();
    try {
      String message = action.get();
      flash.addFlashAttribute("message", message);
      request.setAttribute(AuditLog.OUTCOME, message, org.springframework.web.context.request.RequestAttributes.SCOPE_REQUEST);
      log.info("dashboard: {} by {}", what, user.getName());
    } catch (ProblemException e) {
      flash.addFlashAttribute("error", e.getMessage());
      request.setAttribute(
          AuditLog.OUTCOME, "refused: " + e.getMessage(), org.springframework.web.context.request.RequestAttributes.SCOPE_REQUEST);
      log.info("dashboard: {} by {} refused: {}", what, user.getName(),
          dev.nightshift.server.system.Text.printable(e.getMessage()));
    }
  }

  /** A refusal: a page for a browser, problem+json for any other client. */
  @ExceptionHandler(ProblemException.class)
  ModelAndView problem(
      ProblemException e, jakarta.servlet.http.HttpServletRequest request, jakarta.servlet.http.HttpServletResponse response)
      throws java.io.IOException {
    if (!DashboardSecurity.wantsHtml(request)) {
      Problems.write(json, response, Problems.of(e.status(), e.title(), e.getMessage()));
      return null; // answered
    }
    response.setStatus(e.status().value());
    ModelAndView page = new ModelAndView("dashboard/error");
    page.addObject("f", format);
    page.addObject("status", e.status().value());
    page.addObject("title", e.title());
    page.addObject("detail", e.getMessage());
    return page;
  }

  private static <E extends Enum<E>> E parse(Class<E> type, String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    try {
      return Enum.valueOf(type, value.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw ProblemException.badRequest("unknown state '" + value + "'");
    }
  }
}
